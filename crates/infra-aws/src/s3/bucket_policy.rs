//! `AWS::S3::BucketPolicy`: a bucket's one policy document. Ref is the bucket name, as
//! CloudFormation gives it; a change of document is put in place, another bucket replaces
//! the resource, and delete removes the policy (a bucket already gone has none).

use super::{unset, S3};
use crate::kit::errors::gone_ok;
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::{shape_like, Compare, LiveProperty};
use crate::kit::schema::create_only;
use crate::kit::service::ResourceType;
use crate::policy as document;
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest, ResourceContext,
    UpdateRequest,
};
use serde_json::Value;

const TYPE: &str = "AWS::S3::BucketPolicy";

fn bucket(properties: &Value, operation: &str) -> Result<String, ProviderError> {
    Props::root(properties, operation)?.required_string("Bucket")
}

async fn put(s3: &S3, properties: &Value, operation: &str) -> Result<String, ProviderError> {
    let props = Props::root(properties, operation)?;
    props.only(&["Bucket", "PolicyDocument"], super::configuration::PROVIDER)?;
    let name = props.required_string("Bucket")?;
    let policy = props.required_document("PolicyDocument")?;
    let c = &s3.client;
    // Putting a policy is idempotent: a retry after a lost answer puts the same document.
    s3.call("PutBucketPolicy", || c.put_bucket_policy().bucket(&name).policy(&policy).send()).await?;
    Ok(name)
}

/// `AWS::S3::BucketPolicy`.
pub(crate) struct BucketPolicyType;

#[async_trait::async_trait]
impl ResourceType<S3> for BucketPolicyType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    /// The bucket, known before the call, so an interrupted create is read back by it.
    fn physical_name(&self, _context: &ResourceContext, properties: &Value) -> Option<String> {
        bucket(properties, "PutBucketPolicy").ok()
    }

    async fn create(&self, s3: &S3, req: &CreateRequest) -> Result<Applied, ProviderError> {
        let name = put(s3, &req.properties, "PutBucketPolicy").await?;
        Ok(Applied { physical_id: name, attributes: Default::default() })
    }

    async fn read(&self, s3: &S3, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        const OP: &str = "GetBucketPolicy";
        let name = req.physical_id.as_str();
        let c = &s3.client;
        let out = match unset(s3.call(OP, || c.get_bucket_policy().bucket(name).send()).await) {
            Ok(Some(out)) => out,
            Ok(None) => return Ok(None),
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(text) = out.policy() else { return Ok(None) };
        let live = document::parse_text(text).map_err(|e| ProviderError::new(ErrorKind::Other, OP, e))?;
        let properties = shape_like(
            &req.properties,
            vec![
                LiveProperty::new("Bucket", Compare::Scalar, Some(Value::from(name))),
                LiveProperty::new("PolicyDocument", Compare::Document, Some(live)),
            ],
        );
        Ok(Some(Observed { physical_id: name.to_string(), properties, attributes: Default::default(), failure: None }))
    }

    async fn update(&self, s3: &S3, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "PutBucketPolicy";
        check_in_place(&req.old_properties, &req.new_properties, &create_only(TYPE), "bucket policy", OP)?;
        let name = put(s3, &req.new_properties, OP).await?;
        Ok(Applied { physical_id: name, attributes: Default::default() })
    }

    async fn delete(&self, s3: &S3, req: &DeleteRequest) -> Result<(), ProviderError> {
        let name = req.physical_id.as_str();
        let c = &s3.client;
        gone_ok(s3.call("DeleteBucketPolicy", || c.delete_bucket_policy().bucket(name).send()).await.map(drop))
    }
}
