//! What `genl-client exec` tells the preload library it loads into a
//! program (`genl-client/preload`): the simulator to reach and the family
//! it serves, resolved once by `exec`, in environment variables.

/// The simulator's netlink port (decimal). Without it the library does nothing.
pub const PORT_ENV: &str = "SIMDEV_PRELOAD_PORT";
/// The simulator's family id for simdev (decimal).
pub const FAMILY_ID_ENV: &str = "SIMDEV_PRELOAD_FAMILY_ID";
/// simdev's multicast group ids, comma-separated, in the spec's order.
pub const GROUPS_ENV: &str = "SIMDEV_PRELOAD_GROUPS";
/// Where `exec` finds the library, when not next to its own binary.
pub const LIBRARY_ENV: &str = "SIMDEV_PRELOAD";
/// The library's file name (the cdylib the workspace builds).
pub const LIBRARY_FILE: &str = "libsimdev_preload.so";
