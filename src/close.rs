//! Close codes and reasons: what the browser accepts, checked before it sees them.

use crate::Error;

/// The close frame of a connection that ended, as the browser reported it in its
/// [`CloseEvent`](https://developer.mozilla.org/en-US/docs/Web/API/CloseEvent), or as
/// resocket made it up when it gave up on a connection itself (then `was_clean` is false
/// and the reason says why, e.g. `"heartbeat timeout"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The close code ([RFC 6455 §7.4](https://www.rfc-editor.org/rfc/rfc6455#section-7.4)).
    /// 1006 means the connection ended without a close frame.
    pub code: u16,
    /// The close reason, at most 123 UTF-8 bytes.
    pub reason: String,
    /// Whether the closing handshake completed.
    pub was_clean: bool,
}

impl CloseFrame {
    /// A frame for a connection that ended without a closing handshake.
    pub fn abnormal(reason: &str) -> Self {
        CloseFrame {
            code: codes::ABNORMAL,
            reason: reason.to_owned(),
            was_clean: false,
        }
    }
}

impl std::fmt::Display for CloseFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // (As a u32: see `core::backoff::millis`.)
        write!(f, "code {}", u32::from(self.code))?;
        if !self.reason.is_empty() {
            write!(f, " (\"{}\")", self.reason)?;
        }
        if !self.was_clean {
            f.write_str(", not clean")?;
        }
        Ok(())
    }
}

/// Close codes with a meaning fixed by RFC 6455 or by resocket.
pub mod codes {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: u16 = 1001;
    /// Protocol error.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Unsupported data.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// No status code was present in the close frame.
    pub const NO_STATUS: u16 = 1005;
    /// The connection ended without a close frame (never sent on the wire).
    pub const ABNORMAL: u16 = 1006;
    /// Invalid frame payload data.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Policy violation.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// Message too big.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: u16 = 1010;
    /// Internal server error.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// Service restart.
    pub const SERVICE_RESTART: u16 = 1012;
    /// Try again later.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Bad gateway.
    pub const BAD_GATEWAY: u16 = 1014;
    /// TLS handshake failure (never sent on the wire).
    pub const TLS_HANDSHAKE: u16 = 1015;
    /// Sent by resocket when the heartbeat found the connection dead.
    pub const HEARTBEAT_TIMEOUT: u16 = 4000;
    /// Sent by resocket when more incoming data waited than the inbound limit allows
    /// ([`InboundOverflow::Close`](crate::InboundOverflow::Close)).
    pub const INBOUND_LIMIT: u16 = 4001;
}

/// The longest close reason the browser accepts, in UTF-8 bytes.
pub const MAX_REASON_BYTES: usize = 123;

/// Checks a close code and reason the way the browser's `WebSocket.close()` would, so that
/// the caller gets an [`Error`] instead of a thrown `InvalidAccessError` or `SyntaxError`.
pub fn validate_close(code: u16, reason: &str) -> Result<(), Error> {
    if code != codes::NORMAL && !(3000..=4999).contains(&code) {
        return Err(Error::InvalidCloseCode(code));
    }
    if reason.len() > MAX_REASON_BYTES {
        return Err(Error::CloseReasonTooLong(reason.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_1000_and_the_application_range() {
        for code in [1000, 3000, 3999, 4000, 4999] {
            assert_eq!(validate_close(code, "ok"), Ok(()), "code {code}");
        }
    }

    #[test]
    fn rejects_reserved_and_out_of_range_codes() {
        for code in [0, 999, 1001, 1005, 1006, 1015, 2999, 5000, 65535] {
            assert_eq!(
                validate_close(code, ""),
                Err(Error::InvalidCloseCode(code)),
                "code {code}"
            );
        }
    }

    #[test]
    fn reason_limit_counts_utf8_bytes_not_chars() {
        assert!(validate_close(1000, &"a".repeat(123)).is_ok());
        assert_eq!(
            validate_close(1000, &"a".repeat(124)),
            Err(Error::CloseReasonTooLong(124))
        );
        // 62 two-byte characters are 124 bytes: too long, though only 62 chars.
        assert_eq!(
            validate_close(1000, &"é".repeat(62)),
            Err(Error::CloseReasonTooLong(124))
        );
    }
}
