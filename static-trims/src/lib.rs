//! Two of std's dependencies cut to what camguard's static router builds use; only those
//! builds link this crate (`scripts/package` turns on camguard's `static-trims` feature).
//!
//! - **libunwind's entry points, as stubs.** The builds abort on panic, so nothing ever
//!   unwinds; yet std still names libunwind's functions (its personality routine and the
//!   backtrace walk), so the linker pulled in all of LLVM's libunwind: 26 KB of the aarch64
//!   binary, 46 KB on mipsel. The panic message still reaches stderr and so syslog; only
//!   `RUST_BACKTRACE=1` has no frames to print (it printed none before either: std is built
//!   without symbolisation).
//! - **musl's `pthread_setname_np`, without printf.** 15 KB.
//!
//! Empty wherever panics unwind (tests, a debug build): there the stubs would turn an unwind
//! into an abort. A crate apart: it is the only unsafe code of camguard's own, whose main
//! crate forbids unsafe.

#![no_std]

#[cfg(panic = "abort")]
mod stubs {
    // What `_Unwind_Backtrace` returns when the walk found no frame: `_URC_END_OF_STACK`.
    const END_OF_STACK: i32 = 5;

    /// The backtrace walk std's panic hook runs for `RUST_BACKTRACE`: no frames.
    #[unsafe(no_mangle)]
    pub extern "C" fn _Unwind_Backtrace(_trace: usize, _argument: usize) -> i32 {
        END_OF_STACK
    }

    /// Every other entry point belongs to an unwind, which a panic=abort binary never
    /// starts.
    macro_rules! never_called {
        ($($name:ident)*) => {$(
            #[unsafe(no_mangle)]
            pub extern "C" fn $name() -> ! {
                unwinding_in_an_abort_build()
            }
        )*};
    }

    never_called! {
        _Unwind_RaiseException _Unwind_Resume _Unwind_DeleteException
        _Unwind_GetLanguageSpecificData _Unwind_GetRegionStart
        _Unwind_GetTextRelBase _Unwind_GetDataRelBase
        _Unwind_GetGR _Unwind_SetGR _Unwind_GetIP _Unwind_SetIP _Unwind_GetIPInfo
        _Unwind_FindEnclosingFunction
    }

    // ARM's EHABI: register access in place of _Unwind_GetGR and kin, and the personality
    // routines that the C objects' unwind tables name.
    #[cfg(target_arch = "arm")]
    never_called! {
        _Unwind_VRS_Get _Unwind_VRS_Set __gnu_unwind_frame
        __aeabi_unwind_cpp_pr0 __aeabi_unwind_cpp_pr1 __aeabi_unwind_cpp_pr2
    }

    /// musl's own, without its branch for naming another thread, which formats a /proc path
    /// with snprintf and so links all of musl's printf (15 KB). std only ever names the thread
    /// it runs on, at its start (`thread::Builder::name`).
    #[unsafe(no_mangle)]
    pub extern "C" fn pthread_setname_np(thread: usize, name: *const core::ffi::c_char) -> i32 {
        unsafe extern "C" {
            fn pthread_self() -> usize;
            fn strnlen(s: *const core::ffi::c_char, max: usize) -> usize;
            fn prctl(option: i32, ...) -> i32;
            fn __errno_location() -> *mut i32;
        }
        const PR_SET_NAME: i32 = 15;
        const EINVAL: i32 = 22;
        const ERANGE: i32 = 34;
        // SAFETY: `name` is a C string (std passes a CStr); the calls are musl's.
        unsafe {
            if strnlen(name, 16) > 15 {
                return ERANGE;
            }
            if thread != pthread_self() {
                return EINVAL;
            }
            if prctl(PR_SET_NAME, name as usize, 0usize, 0usize, 0usize) == 0 {
                0
            } else {
                *__errno_location()
            }
        }
    }

    #[cold]
    fn unwinding_in_an_abort_build() -> ! {
        // core cannot abort by itself; a panic in a panic=abort binary does.
        panic!("static-trims: libunwind called in a panic=abort build")
    }
}
