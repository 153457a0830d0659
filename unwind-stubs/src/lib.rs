//! libunwind's entry points as stubs, for the static router builds of camguard only
//! (`scripts/package` turns on camguard's `unwind-stubs` feature).
//!
//! Those builds abort on panic, so nothing ever unwinds; yet std still names libunwind's
//! functions (its personality routine and the backtrace printer), so the linker pulls in
//! all of LLVM's libunwind and, through its error messages, musl's printf: 26 KB of the
//! aarch64 binary, 46 KB on mipsel. Defined here, they are never looked for in libunwind.
//! The panic message still reaches stderr and so syslog; only `RUST_BACKTRACE=1` has no
//! frames to print (it printed none before either: std is built without symbolisation).
//!
//! Empty wherever panics unwind (tests, a debug build): there they would turn an unwind
//! into an abort.

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

    #[cold]
    fn unwinding_in_an_abort_build() -> ! {
        // core cannot abort by itself; a panic in a panic=abort binary does.
        panic!("unwind-stubs: libunwind called in a panic=abort build")
    }
}
