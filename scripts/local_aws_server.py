"""The local AWS: moto server, plus the SageMaker operations moto lacks and one ECR fix.

moto 5.2.5 answers neither UpdateEndpoint nor DeleteModelPackageGroup, nor the model package
group policy calls, so an endpoint rollout or the removal of a model package group could only
be tested against a fake. This launcher adds them to moto's SageMaker backend, in the same
process, and then runs moto's own server: every other service is moto as released.

What is emulated, and how closely:
- UpdateEndpoint: the endpoint must exist and be InService, the new configuration must exist.
  The endpoint switches to it and reports Updating on the next DescribeEndpoint, InService
  from then on (so a client's waiter really waits). With RetainAllVariantProperties, each
  variant that keeps its name keeps its current instance count and weight (what an
  autoscaler set), except the properties named in ExcludeRetainedVariantProperties.
- DeleteModelPackageGroup: refused while the group still holds model packages, as SageMaker
  does; missing groups answer the ValidationException DescribeModelPackageGroup answers.
- PutModelPackageGroupPolicy, GetModelPackageGroupPolicy, DeleteModelPackageGroupPolicy: the
  policy is kept as the text given.
- ECR PutImageScanningConfiguration: an `imageScanningConfiguration` without `scanOnPush`
  turns scanning on push off, as ECR does (the field defaults to false, and the AWS SDKs leave
  a false boolean out of the request); moto 5.2.5 ignored such a request and left it on.

One S3 answer is fixed rather than added: moto 5.2.5 answers GetBucketVersioning with a
`GetBucketVersioningResponse` root element, which boto3 ignores but the AWS SDK for Rust
refuses; S3's root is `VersioningConfiguration`. The status is moto's own.

Usage: python scripts/local_aws_server.py [moto_server's arguments, e.g. -H 127.0.0.1 -p 5000]
"""

import sys
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.ecr import models as ecr_models
from moto.sagemaker import models, responses
from moto.sagemaker.exceptions import ValidationError
from moto.s3 import responses as s3_responses

# Per endpoint ARN: how many DescribeEndpoint answers still say Updating. Kept beside the
# backend, not on moto's objects, whose every attribute becomes part of their answers.
_UPDATING: dict[str, int] = {}
# Per model package group ARN: its resource policy.
_GROUP_POLICIES: dict[str, str] = {}

_RETAINED = {
    "CurrentInstanceCount": "DesiredInstanceCount",
    "DesiredInstanceCount": "DesiredInstanceCount",
    "CurrentWeight": "DesiredWeight",
    "DesiredWeight": "DesiredWeight",
}


def _group(backend: Any, name: str) -> Any:
    # Answers the same ValidationException as moto's DescribeModelPackageGroup when missing.
    return backend.describe_model_package_group(model_package_group_name=name)


def update_endpoint(
    self: Any,
    endpoint_name: str,
    endpoint_config_name: str,
    retain_all_variant_properties: bool = False,
    exclude_retained_variant_properties: list[dict[str, str]] | None = None,
) -> str:
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = models.FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    if endpoint.endpoint_status != "InService" or _UPDATING.get(endpoint.arn, 0) > 0:
        raise ValidationError(
            message=f"Cannot update in-progress endpoint \"{endpoint.arn}\"."
        )
    config = self.endpoint_configs.get(endpoint_config_name)
    if config is None:
        arn = models.FakeEndpointConfig.arn_formatter(endpoint_config_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint configuration '{arn}'.")
    old = {v["VariantName"]: v for v in endpoint.production_variants}
    variants = endpoint._process_production_variants(config.production_variants)
    if retain_all_variant_properties:
        excluded = {p.get("VariantPropertyType") for p in exclude_retained_variant_properties or []}
        for variant in variants:
            previous = old.get(variant["VariantName"])
            if previous is None:
                continue
            for key, kind in _RETAINED.items():
                if kind not in excluded and key in previous:
                    variant[key] = previous[key]
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = variants
    endpoint.data_capture_config = config.data_capture_config
    endpoint.last_modified_time = utcnow()
    _UPDATING[endpoint.arn] = 1
    return endpoint.arn


_describe_endpoint = models.SageMakerModelBackend.describe_endpoint


def describe_endpoint(self: Any, endpoint_name: str) -> dict[str, Any]:
    answer = _describe_endpoint(self, endpoint_name)
    arn = answer.get("EndpointArn")
    if _UPDATING.get(arn, 0) > 0:
        _UPDATING[arn] -= 1
        answer = dict(answer, EndpointStatus="Updating")
    return answer


_delete_endpoint = models.SageMakerModelBackend.delete_endpoint


def delete_endpoint(self: Any, endpoint_name: str) -> None:
    endpoint = self.endpoints.get(endpoint_name)
    _delete_endpoint(self, endpoint_name)
    if endpoint is not None:
        _UPDATING.pop(endpoint.arn, None)


def delete_model_package_group(self: Any, model_package_group_name: str) -> None:
    group = _group(self, model_package_group_name)
    held = [p for p in self.model_packages.values() if p.model_package_group_name == model_package_group_name]
    if held:
        raise ValidationError(
            message=f"Model Package Group {group.arn} cannot be deleted because it contains "
            f"{len(held)} model package(s)."
        )
    del self.model_package_groups[model_package_group_name]
    _GROUP_POLICIES.pop(group.arn, None)


def put_model_package_group_policy(self: Any, model_package_group_name: str, resource_policy: str) -> str:
    group = _group(self, model_package_group_name)
    _GROUP_POLICIES[group.arn] = resource_policy
    return group.arn


def get_model_package_group_policy(self: Any, model_package_group_name: str) -> str:
    group = _group(self, model_package_group_name)
    if group.arn not in _GROUP_POLICIES:
        raise ValidationError(message=f"Cannot find resource policy for {group.arn}.")
    return _GROUP_POLICIES[group.arn]


def delete_model_package_group_policy(self: Any, model_package_group_name: str) -> None:
    group = _group(self, model_package_group_name)
    if _GROUP_POLICIES.pop(group.arn, None) is None:
        raise ValidationError(message=f"Cannot find resource policy for {group.arn}.")


for function in (
    update_endpoint,
    describe_endpoint,
    delete_endpoint,
    delete_model_package_group,
    put_model_package_group_policy,
    get_model_package_group_policy,
    delete_model_package_group_policy,
):
    setattr(models.SageMakerModelBackend, function.__name__, function)


def _update_endpoint(self: Any) -> ActionResult:
    arn = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=bool(self._get_param("RetainAllVariantProperties", False)),
        exclude_retained_variant_properties=self._get_param("ExcludeRetainedVariantProperties"),
    )
    return ActionResult({"EndpointArn": arn})


def _delete_model_package_group(self: Any) -> EmptyResult:
    self.sagemaker_backend.delete_model_package_group(self._get_param("ModelPackageGroupName"))
    return EmptyResult()


def _put_model_package_group_policy(self: Any) -> ActionResult:
    arn = self.sagemaker_backend.put_model_package_group_policy(
        self._get_param("ModelPackageGroupName"), self._get_param("ResourcePolicy")
    )
    return ActionResult({"ModelPackageGroupArn": arn})


def _get_model_package_group_policy(self: Any) -> ActionResult:
    policy = self.sagemaker_backend.get_model_package_group_policy(self._get_param("ModelPackageGroupName"))
    return ActionResult({"ResourcePolicy": policy})


def _delete_model_package_group_policy(self: Any) -> EmptyResult:
    self.sagemaker_backend.delete_model_package_group_policy(self._get_param("ModelPackageGroupName"))
    return EmptyResult()


for name, handler in (
    ("update_endpoint", _update_endpoint),
    ("delete_model_package_group", _delete_model_package_group),
    ("put_model_package_group_policy", _put_model_package_group_policy),
    ("get_model_package_group_policy", _get_model_package_group_policy),
    ("delete_model_package_group_policy", _delete_model_package_group_policy),
):
    setattr(responses.SageMakerResponse, name, handler)



def _update_image_scanning_configuration(self: Any, image_scanning_configuration: Any = None) -> None:
    if image_scanning_configuration is not None:
        self.image_scanning_configuration = {"scanOnPush": bool(image_scanning_configuration.get("scanOnPush", False))}


ecr_models.Repository._update_image_scanning_configuration = _update_image_scanning_configuration


def _get_bucket_versioning(self: Any) -> tuple[int, dict[str, str], str]:
    status = self.backend.get_bucket_versioning(self.bucket_name)
    self.data["Action"] = "GetBucketVersioning"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        + (f"<Status>{status}</Status>" if status else "")
        + "</VersioningConfiguration>"
    )
    return 200, {"Content-Type": "application/xml"}, body


setattr(s3_responses.S3Response, "get_bucket_versioning", _get_bucket_versioning)

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
