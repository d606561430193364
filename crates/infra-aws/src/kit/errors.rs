//! Not-found handling, one way for every service: which answers mean "it is not there",
//! and how reads and deletes take that as an answer rather than a failure.

use infra_core::provider::{ErrorKind, ProviderError};

/// `Ok(None)` for NotFound, so reads and deletes can treat "already gone" as an answer.
pub fn absent_if_missing<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Ignore NotFound: deleting what is gone is success.
pub fn gone_ok(result: Result<(), ProviderError>) -> Result<(), ProviderError> {
    absent_if_missing(result).map(|_| ())
}

/// SageMaker reports a missing resource as a ValidationException ("Could not find model …",
/// "… does not exist"), which on its own reads as a bad request; so do emulations of
/// Application Auto Scaling ("No scalable target found …"): such an answer is NotFound. Only for calls about the resource
/// itself: a create naming a missing model is a bad request.
pub fn missing_as_not_found(operation: &str, mut err: ProviderError) -> ProviderError {
    let about_itself =
        ["Describe", "Delete", "Deregister", "List", "Get", "Add"].iter().any(|p| operation.starts_with(p));
    let message = err.message.to_ascii_lowercase();
    if about_itself
        && err.code.as_deref() == Some("ValidationException")
        && (message.contains("could not find")
            || message.contains("does not exist")
            || (message.starts_with("no ") && message.contains(" found")))
    {
        err.kind = ErrorKind::NotFound;
    }
    err
}

/// A required field the SDK's builder found missing.
pub fn build_error(operation: &str, err: aws_smithy_types::error::operation::BuildError) -> ProviderError {
    ProviderError::new(ErrorKind::Invalid, operation, err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_kind(operation: &str, code: &str, message: &str, expected: ErrorKind) {
        let err = ProviderError::new(ErrorKind::Invalid, operation, message).with_code(code);
        assert_eq!(missing_as_not_found(operation, err).kind, expected, "{operation} {code} {message}");
    }

    #[test]
    fn missing_resources_are_not_found() {
        check_kind(
            "DescribeModel",
            "ValidationException",
            "Could not find model \"arn:aws:sagemaker:us-east-1:1:model/m\".",
            ErrorKind::NotFound,
        );
        check_kind("DeleteEndpoint", "ValidationException", "Could not find endpoint \"e\".", ErrorKind::NotFound);
        check_kind(
            "DescribeModelPackageGroup",
            "ValidationException",
            "ModelPackageGroup arn:x does not exist.",
            ErrorKind::NotFound,
        );
        check_kind("DescribeModel", "ValidationException", "1 validation error detected", ErrorKind::Invalid);
        check_kind("DescribeModel", "AccessDeniedException", "Could not find credentials", ErrorKind::Invalid);
        check_kind(
            "DeregisterScalableTarget",
            "ValidationException",
            "No scalable target found for service namespace: sagemaker",
            ErrorKind::NotFound,
        );
        check_kind("CreateEndpointConfig", "ValidationException", "Could not find model \"m\".", ErrorKind::Invalid);
    }

    #[test]
    fn not_found_is_an_answer() {
        let missing = || ProviderError::new(ErrorKind::NotFound, "DescribeModel", "gone");
        assert_eq!(absent_if_missing::<u8>(Err(missing())), Ok(None));
        assert_eq!(absent_if_missing(Ok(1)), Ok(Some(1)));
        assert!(gone_ok(Err(missing())).is_ok());
        let refused = ProviderError::new(ErrorKind::Invalid, "DeleteModel", "bad");
        assert_eq!(gone_ok(Err(refused.clone())), Err(refused));
    }
}
