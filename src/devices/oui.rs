//! Camera-vendor OUI table (placeholder until the generated table lands).
