//! Subprotocol names, checked before the browser sees them.

use crate::Error;

/// Checks subprotocol names the way the `WebSocket` constructor does (each a non-empty
/// HTTP token, no duplicates), so the mistake is named instead of surfacing as the
/// browser's `SyntaxError`, which resocket reserves for bad URLs.
pub fn validate_protocols(protocols: &[String]) -> Result<(), Error> {
    for (i, p) in protocols.iter().enumerate() {
        let token = !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token {
            return Err(Error::InvalidConfig(format!(
                "the subprotocol \"{p}\" is invalid: it must be a non-empty token \
                 (letters, digits and !#$%&'*+-.^_`|~)"
            )));
        }
        if protocols[..i].contains(p) {
            return Err(Error::InvalidConfig(format!(
                "the subprotocol \"{p}\" is offered twice"
            )));
        }
    }
    Ok(())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Result<(), Error> {
        validate_protocols(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn tokens_pass_and_everything_else_is_named() {
        assert!(v(&[]).is_ok());
        assert!(v(&["v1.chat", "graphql-ws", "mqtt"]).is_ok());
        for bad in [&[""][..], &["a b"], &["a,b"], &["é"], &["x", "x"], &["a/b"]] {
            assert!(matches!(v(bad), Err(Error::InvalidConfig(_))), "{bad:?}");
        }
    }
}
