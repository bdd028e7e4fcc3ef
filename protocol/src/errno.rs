//! Errno names, both ways, as users type and read them (`EIO`, `ENODEV`).

use nix::errno::Errno;

/// Highest errno Linux defines (`EHWPOISON`).
const ERRNO_MAX: i32 = 133;

/// The symbolic name of a positive errno (`5` -> `EIO`).
pub fn errno_name(errno: i32) -> String {
    format!("{:?}", Errno::from_raw(errno))
}

/// What the C library says of a positive errno (`strerror`: `34` ->
/// "Numerical result out of range"), as iproute2 and the kernel's YNL
/// print errors, not the kernel header's comment for it.
pub fn strerror(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    // std writes "TEXT (os error N)": the text is strerror_r's.
    match text.rfind(" (os error ") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

/// Parses `EIO`, `eio` or `5`; `None` for unknown names and out-of-range numbers.
pub fn parse_errno(text: &str) -> Option<i32> {
    if let Ok(number) = text.parse::<i32>() {
        return (1..=4095).contains(&number).then_some(number);
    }
    let wanted = text.to_ascii_uppercase();
    (1..=ERRNO_MAX).find(|&n| errno_name(n) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        assert_eq!(parse_errno("EIO"), Some(5));
        assert_eq!(parse_errno("ebusy"), Some(16));
        assert_eq!(parse_errno("110"), Some(110));
        assert_eq!(parse_errno("ENOTANERRNO"), None);
        assert_eq!(parse_errno("0"), None);
        assert_eq!(errno_name(19), "ENODEV");
    }

    #[test]
    fn descriptions_are_the_c_librarys() {
        assert_eq!(strerror(34), "Numerical result out of range");
        assert_eq!(strerror(95), "Operation not supported");
        assert_eq!(strerror(19), "No such device");
    }
}
