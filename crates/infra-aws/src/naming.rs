//! Generated physical names, CloudFormation style: `{stack name}-{LogicalId}-{RANDOM}`, where
//! the stack name is `{project}-{env}-{layer}`, so the same template deployed as dev and as
//! prod in one account gets names that tell them apart. Names are fitted to each service's
//! length limit and character set: as CloudFormation does, the stack name and the logical ID
//! are shortened (the longer one first) and the random suffix is kept whole.

use infra_core::provider::ResourceContext;

/// The characters a service accepts in a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// IAM names: `[A-Za-z0-9_+=,.@-]`.
    Iam,
    /// `[A-Za-z0-9-]`, starting with a letter or digit (SageMaker and most newer services).
    AlnumHyphen,
}

impl Charset {
    pub fn allows(self, c: char) -> bool {
        match self {
            Charset::Iam => c.is_ascii_alphanumeric() || "_+=,.@-".contains(c),
            Charset::AlnumHyphen => c.is_ascii_alphanumeric() || c == '-',
        }
    }
}

/// A service's naming rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameRules {
    pub max_len: usize,
    pub charset: Charset,
}

pub const IAM_ROLE: NameRules = NameRules { max_len: 64, charset: Charset::Iam };
pub const IAM_POLICY: NameRules = NameRules { max_len: 128, charset: Charset::Iam };
pub const IAM_INSTANCE_PROFILE: NameRules = NameRules { max_len: 128, charset: Charset::Iam };
pub const IAM_USER: NameRules = NameRules { max_len: 64, charset: Charset::Iam };
pub const SAGEMAKER: NameRules = NameRules { max_len: 63, charset: Charset::AlnumHyphen };
/// CloudFormation stack names: `[A-Za-z][-A-Za-z0-9]*`, up to 128 characters.
pub const CLOUDFORMATION_STACK: NameRules = NameRules { max_len: 128, charset: Charset::AlnumHyphen };

/// Length of the random suffix, as CloudFormation uses.
pub const SUFFIX_LEN: usize = 13;

/// A fresh random suffix: 13 uppercase letters and digits.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..SUFFIX_LEN).map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())])).collect()
}

/// A generated name for the resource in `ctx` under `rules`.
pub fn generate(ctx: &ResourceContext, rules: NameRules) -> String {
    let stack_name = if ctx.stack_name.is_empty() {
        format!("{}-{}-{}", ctx.project, ctx.environment, ctx.layer)
    } else {
        ctx.stack_name.clone()
    };
    fit(&[&stack_name, &ctx.logical_id], &random_suffix(), rules)
}

/// Join `parts` and `suffix` with hyphens within `rules`: characters the service does not
/// allow are dropped, and when the result is too long the longest part is shortened first,
/// so every part stays recognisable. The suffix is always kept whole.
pub fn fit(parts: &[&str], suffix: &str, rules: NameRules) -> String {
    let mut parts: Vec<Vec<char>> = parts
        .iter()
        .map(|p| p.chars().filter(|&c| rules.charset.allows(c)).collect())
        .filter(|p: &Vec<char>| !p.is_empty())
        .collect();
    let suffix: String = suffix.chars().filter(|&c| rules.charset.allows(c)).take(rules.max_len).collect();
    let sep = usize::from(!suffix.is_empty() && !parts.is_empty());
    let budget = rules.max_len.saturating_sub(suffix.chars().count() + sep);
    let joined_len =
        |parts: &[Vec<char>]| -> usize { parts.iter().map(Vec::len).sum::<usize>() + parts.len().saturating_sub(1) };
    while !parts.is_empty() && joined_len(&parts) > budget {
        // Shorten the longest part; drop parts that run out (and their separator with them).
        let longest =
            parts.iter().enumerate().max_by_key(|(i, p)| (p.len(), std::cmp::Reverse(*i))).map_or(0, |(i, _)| i);
        if let Some(p) = parts.get_mut(longest) {
            p.pop();
            if p.is_empty() {
                parts.remove(longest);
            }
        }
    }
    let mut out: String = parts.iter().map(|p| p.iter().collect::<String>()).collect::<Vec<_>>().join("-");
    if !suffix.is_empty() {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&suffix);
    }
    if rules.charset == Charset::AlnumHyphen {
        out = out.trim_start_matches('-').to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(parts: &[&str], rules: NameRules, expected: &str) {
        let got = fit(parts, "ABCDEFGHIJKLM", rules);
        assert_eq!(got, expected);
        assert!(got.chars().count() <= rules.max_len, "{got} longer than {}", rules.max_len);
        assert!(got.chars().all(|c| rules.charset.allows(c)), "{got}");
    }

    #[test]
    fn fitting() {
        check(&["ml", "identity", "Role"], IAM_ROLE, "ml-identity-Role-ABCDEFGHIJKLM");
        check(
            &["mlplatform", "identity", "SageMakerExecutionRoleForTrainingJobsAndEndpoints"],
            IAM_ROLE,
            "mlplatform-identity-SageMakerExecutionRoleForTrain-ABCDEFGHIJKLM",
        );
        check(&["ml_p", "backend", "Model.1"], SAGEMAKER, "mlp-backend-Model1-ABCDEFGHIJKLM");
        check(&["-x", "b", "M"], SAGEMAKER, "x-b-M-ABCDEFGHIJKLM");
        check(
            &["a".repeat(100).as_str(), "b".repeat(100).as_str(), "C".repeat(100).as_str()],
            SAGEMAKER,
            &format!("{}-{}-{}-ABCDEFGHIJKLM", "a".repeat(15), "b".repeat(16), "C".repeat(16)),
        );
        check(&["p", "l", "Id"], NameRules { max_len: 13, charset: Charset::Iam }, "ABCDEFGHIJKLM");
        check(&["p", "l", "Id"], NameRules { max_len: 16, charset: Charset::Iam }, "I-ABCDEFGHIJKLM");
        check(&["é", "l", "Id"], IAM_POLICY, "l-Id-ABCDEFGHIJKLM");
    }

    fn context(env: &str, logical_id: &str, stack_name: bool) -> ResourceContext {
        ResourceContext {
            project: "mlplatform".into(),
            environment: env.into(),
            layer: "identity".into(),
            stack_name: if stack_name { format!("mlplatform-{env}-identity") } else { String::new() },
            logical_id: logical_id.into(),
            resource_type: "AWS::IAM::Role".into(),
            ..Default::default()
        }
    }

    #[test]
    fn generated_names_fit_every_service() {
        let long = "AVeryLongLogicalIdThatKeepsGoingAndGoingAndGoingAndGoingAndGoingAndGoing";
        // (environment, logical ID, whether the context carries the stack name, expected prefix)
        let cases = [
            ("dev", long, true, "mlplatform-dev-identity-AVery"),
            ("prod", long, true, "mlplatform-prod-identity-AVery"),
            ("dev", long, false, "mlplatform-dev-identity-AVery"),
            ("prod", "Role", true, "mlplatform-prod-identity-Role-"),
        ];
        for (env, logical_id, stack_name, prefix) in cases {
            let ctx = context(env, logical_id, stack_name);
            for rules in [IAM_ROLE, IAM_POLICY, IAM_INSTANCE_PROFILE, IAM_USER, SAGEMAKER] {
                let a = generate(&ctx, rules);
                assert!(a.len() <= rules.max_len && a.chars().all(|c| rules.charset.allows(c)), "{a}");
                assert!(a.starts_with(prefix), "{a} does not start with {prefix}");
                let suffix = &a[a.len() - SUFFIX_LEN..];
                assert!(suffix.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{a}");
                assert_ne!(a, generate(&ctx, rules));
            }
        }
    }

    #[test]
    fn the_stack_name_and_the_logical_id_are_shortened_the_longer_first() {
        let stack = "mlplatform-production-identity";
        check(&[stack, "Role"], IAM_ROLE, "mlplatform-production-identity-Role-ABCDEFGHIJKLM");
        check(
            &[stack, "SageMakerExecutionRoleForTrainingJobsAndEndpoints"],
            IAM_ROLE,
            "mlplatform-production-id-SageMakerExecutionRoleFor-ABCDEFGHIJKLM",
        );
        check(
            &["a-very-long-project-name-production-backend-services", "EndpointConfiguration"],
            SAGEMAKER,
            "a-very-long-project-name-pr-EndpointConfiguration-ABCDEFGHIJKLM",
        );
    }
}
