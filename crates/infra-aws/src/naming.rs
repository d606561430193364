//! CloudFormation-style generated names: `{stack}-{LogicalId}-{RANDOM}`, fitted to a
//! service's length limit and character set.

use infra_core::provider::ResourceContext;

/// Which characters a service accepts in names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// `[a-zA-Z0-9-]`, no leading or trailing hyphen (SageMaker).
    AlphanumericHyphen,
}

const SUFFIX_LEN: usize = 13;
const SUFFIX_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A fresh name for `context`'s resource, at most `limit` characters of `charset`.
pub fn generated_name(context: &ResourceContext, limit: usize, charset: Charset) -> String {
    let suffix: String = (0..SUFFIX_LEN)
        .map(|_| char::from(SUFFIX_CHARS[fastrand::usize(..SUFFIX_CHARS.len())]))
        .collect();
    fit(&format!("{}-{}", context.stack_name, context.logical_id), &suffix, limit, charset)
}

fn fit(prefix: &str, suffix: &str, limit: usize, charset: Charset) -> String {
    let Charset::AlphanumericHyphen = charset;
    let cleaned: String = prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let room = limit.saturating_sub(suffix.len() + 1);
    let prefix: String = cleaned.chars().take(room).collect();
    let prefix = prefix.trim_matches('-');
    if prefix.is_empty() {
        suffix.chars().take(limit).collect()
    } else {
        format!("{prefix}-{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(prefix: &str, limit: usize, expected: &str) {
        let name = fit(prefix, "ABCDEFGHIJKLM", limit, Charset::AlphanumericHyphen);
        assert!(name.len() <= limit);
        assert_eq!(name, expected);
    }

    #[test]
    fn names_fit() {
        check("ml-dev-backend-Model", 63, "ml-dev-backend-Model-ABCDEFGHIJKLM");
        check("ml_dev-backend-Model", 63, "ml-dev-backend-Model-ABCDEFGHIJKLM");
        check("mlplatform-production-backend-VeryLongLogicalIdentifierForAModel", 63,
            "mlplatform-production-backend-VeryLongLogicalIden-ABCDEFGHIJKLM");
        check("abc-", 20, "abc-ABCDEFGHIJKLM");
        check("", 63, "ABCDEFGHIJKLM");
    }
}
