//! Turns AWS SDK errors into [`ProviderError`]s: the operation, AWS's error code and message,
//! and a kind the engine and the retry loop can act on.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{ErrorKind, ProviderError};

/// Error codes AWS services use for throttling; all are worth waiting out.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
    "TransactionInProgressException",
];

/// Error codes for failures on AWS's side that a later attempt can get past.
const TRANSIENT_CODES: &[&str] = &[
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "RequestTimeout",
    "RequestTimeoutException",
    "ConcurrentModification",
    "ConcurrentModificationException",
    "IDPCommunicationError",
    "EntityTemporarilyUnmodifiable",
    "EntityTemporarilyUnmodifiableException",
    "ServiceFailure",
    "ServiceFailureException",
];

const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchEntity",
    "NoSuchEntityException",
    "NotFound",
    "NotFoundException",
    "ResourceNotFound",
    "ResourceNotFoundException",
    "ObjectNotFoundException",
    "NoSuchBucket",
    "NoSuchKey",
    "RepositoryNotFoundException",
    "InvalidVpcID.NotFound",
    "InvalidSubnetID.NotFound",
    "InvalidInternetGatewayID.NotFound",
    "InvalidVpnGatewayID.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidRoute.NotFound",
    "InvalidAssociationID.NotFound",
    "InvalidAllocationID.NotFound",
    "InvalidAddress.NotFound",
    "NatGatewayNotFound",
    "InvalidNatGatewayID.NotFound",
    "InvalidVpcEndpointId.NotFound",
    "InvalidVpcEndpoint.NotFound",
];

const CONFLICT_CODES: &[&str] = &[
    "EntityAlreadyExists",
    "EntityAlreadyExistsException",
    "AlreadyExists",
    "AlreadyExistsException",
    "ResourceAlreadyExists",
    "ResourceAlreadyExistsException",
    "ResourceInUse",
    "ResourceInUseException",
    "DeleteConflict",
    "DeleteConflictException",
    "ConflictException",
    "LimitExceeded",
    "LimitExceededException",
    "ResourceLimitExceeded",
    "BucketAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "DependencyViolation",
    "VpcLimitExceeded",
];

const INVALID_CODES: &[&str] = &[
    "MalformedPolicyDocument",
    "MalformedPolicyDocumentException",
    "ValidationError",
    "ValidationException",
    "InvalidInput",
    "InvalidInputException",
    "InvalidParameterValue",
    "InvalidParameterValueException",
    "InvalidParameterCombination",
    "InvalidParameterException",
    "MissingParameter",
    "UnmodifiableEntity",
    "UnmodifiableEntityException",
    "PolicyNotAttachable",
    "PolicyNotAttachableException",
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
];

/// The kind of an AWS error code, given the HTTP status that carried it.
pub fn kind_of(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    if let Some(code) = code {
        let is = |list: &[&str]| list.contains(&code);
        if is(THROTTLING_CODES) || is(TRANSIENT_CODES) {
            return ErrorKind::Transient;
        }
        if is(NOT_FOUND_CODES) {
            return ErrorKind::NotFound;
        }
        if is(CONFLICT_CODES) {
            return ErrorKind::Conflict;
        }
        if is(INVALID_CODES) {
            return ErrorKind::Invalid;
        }
    }
    match status {
        Some(429) | Some(500..=599) => ErrorKind::Transient,
        Some(404) => ErrorKind::NotFound,
        Some(409) => ErrorKind::Conflict,
        Some(400..=499) => ErrorKind::Invalid,
        _ => ErrorKind::Other,
    }
}

/// Whether `code` is one of the throttling codes AWS services use.
pub fn is_throttling(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// Map any SDK operation error into a [`ProviderError`] for `operation` (e.g. `CreateRole`).
pub fn from_sdk<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().map(str::to_string);
            let message = match service.err().message() {
                Some(m) if !m.is_empty() => m.to_string(),
                _ => format!("HTTP status {status}"),
            };
            let mut out = ProviderError::new(kind_of(code.as_deref(), Some(status)), operation, message);
            out.code = code;
            out
        }
        SdkError::TimeoutError(_) => {
            ProviderError::new(ErrorKind::Transient, operation, format!("timed out: {}", DisplayErrorContext(err)))
        }
        SdkError::DispatchFailure(dispatch) => {
            use aws_smithy_types::retry::ErrorKind as Retryable;
            let transient = dispatch.is_io()
                || dispatch.is_timeout()
                || matches!(
                    dispatch.as_other(),
                    Some(Retryable::TransientError | Retryable::ThrottlingError | Retryable::ServerError)
                );
            let kind = if transient { ErrorKind::Transient } else { ErrorKind::Other };
            ProviderError::new(kind, operation, format!("could not send the request: {}", DisplayErrorContext(err)))
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            let kind =
                if (500..=599).contains(&status) || status == 429 { ErrorKind::Transient } else { ErrorKind::Other };
            ProviderError::new(
                kind,
                operation,
                format!("unreadable response (HTTP status {status}): {}", DisplayErrorContext(err)),
            )
        }
        _ => ProviderError::new(ErrorKind::Other, operation, DisplayErrorContext(err).to_string()),
    }
}

/// Why a request could not even be sent, when the cause is the endpoint itself: nothing
/// listens at its address, or its host name does not resolve, or no route leads there. A
/// wrong endpoint (or no network) looks like this; a server that is up never does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachable {
    Refused,
    UnknownHost,
    NoRoute,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unreachable::Refused => "connection refused",
            Unreachable::UnknownHost => "host name not found",
            Unreachable::NoRoute => "no route to the host",
        })
    }
}

/// Whether `err` says the endpoint cannot be reached at all (see [`Unreachable`]), read from
/// the connector's error chain: an I/O error of kind `ConnectionRefused` (or an unreachable
/// host or network), or the HTTP client's "dns error".
pub fn unreachable<E>(err: &SdkError<E, HttpResponse>) -> Option<Unreachable>
where
    E: std::error::Error + 'static,
{
    let SdkError::DispatchFailure(dispatch) = err else { return None };
    if !dispatch.is_io() {
        return None;
    }
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Some(Unreachable::Refused),
                std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => {
                    return Some(Unreachable::NoRoute)
                }
                _ => {}
            }
        }
        // hyper's connector reports a failed name lookup as "dns error", over an I/O error
        // whose kind is not specific.
        if e.to_string().starts_with("dns error") {
            return Some(Unreachable::UnknownHost);
        }
        next = e.source();
    }
    None
}

/// Whether the service answered (with an error): the request reached a server that speaks
/// HTTP, so the endpoint is right even though this call failed.
pub fn answered<E>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(err, SdkError::ServiceError(_) | SdkError::ResponseError(_))
}

/// A one-line cause of `err`, shorter than [`from_sdk`]'s message: the service's code and
/// message, or for a request that was never answered, the innermost error (e.g. "connection
/// closed before message completed"), with `endpoint` when given.
pub fn brief<E>(err: &SdkError<E, HttpResponse>, endpoint: Option<&str>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let at = |what: String| match endpoint {
        Some(e) => format!("{what} ({e})"),
        None => what,
    };
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            match (service.err().code(), service.err().message()) {
                (Some(c), Some(m)) if !m.is_empty() => format!("{c}: {m}"),
                (Some(c), _) => format!("{c} (HTTP status {status})"),
                (None, _) => format!("HTTP status {status}"),
            }
        }
        SdkError::TimeoutError(_) => at("timed out".to_string()),
        SdkError::DispatchFailure(_) => match unreachable(err) {
            Some(u) => at(u.to_string()),
            None => {
                let mut innermost: &(dyn std::error::Error + 'static) = err;
                while let Some(next) = innermost.source() {
                    innermost = next;
                }
                at(innermost.to_string())
            }
        },
        SdkError::ResponseError(response) => {
            format!("unreadable response (HTTP status {})", response.raw().status().as_u16())
        }
        _ => at(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(code: Option<&str>, status: Option<u16>, expected: ErrorKind) {
        assert_eq!(kind_of(code, status), expected, "code {code:?} status {status:?}");
    }

    #[test]
    fn kinds() {
        check(Some("Throttling"), Some(400), ErrorKind::Transient);
        check(Some("SlowDown"), Some(503), ErrorKind::Transient);
        check(Some("TooManyRequestsException"), Some(400), ErrorKind::Transient);
        check(Some("RequestLimitExceeded"), Some(400), ErrorKind::Transient);
        check(Some("NoSuchEntity"), Some(404), ErrorKind::NotFound);
        check(Some("ResourceNotFound"), Some(400), ErrorKind::NotFound);
        check(Some("EntityAlreadyExists"), Some(409), ErrorKind::Conflict);
        check(Some("DeleteConflict"), Some(409), ErrorKind::Conflict);
        check(Some("MalformedPolicyDocument"), Some(400), ErrorKind::Invalid);
        check(Some("ValidationError"), Some(400), ErrorKind::Invalid);
        check(Some("SomethingNew"), Some(503), ErrorKind::Transient);
        check(Some("SomethingNew"), Some(429), ErrorKind::Transient);
        check(Some("SomethingNew"), Some(400), ErrorKind::Invalid);
        check(None, Some(404), ErrorKind::NotFound);
        check(None, Some(500), ErrorKind::Transient);
        check(None, None, ErrorKind::Other);
    }

    /// A real refused connection, through the real SDK client, is recognised as one.
    #[tokio::test]
    async fn a_refused_connection_is_unreachable() {
        let port = {
            let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
            listener.local_addr().expect("address").port()
        };
        let url = format!("http://127.0.0.1:{port}");
        let settings =
            crate::AwsSettings { region: Some("us-east-1".into()), profile: None, endpoint_url: Some(url.clone()) };
        let credentials = crate::config::StaticCredentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            session_token: None,
        };
        let config = crate::config::load_with(&settings, Some(&credentials)).await.expect("config");
        let err = aws_sdk_sts::Client::new(&config).get_caller_identity().send().await.expect_err("refused");
        assert_eq!(unreachable(&err), Some(Unreachable::Refused), "{}", DisplayErrorContext(&err));
        assert!(!answered(&err));
        assert_eq!(brief(&err, Some(&url)), format!("connection refused ({url})"));
        assert_eq!(from_sdk("GetCallerIdentity", &err).kind, ErrorKind::Transient);
    }
}
