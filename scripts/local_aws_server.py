"""The local AWS: moto server, plus the SageMaker operations moto lacks, the EC2 behaviour
(NAT gateway deletion, VPC endpoint changes, VPC dependencies) it leaves out, CloudFormation
stacks that fail and report their resources as CloudFormation does, one ECR fix and one S3
answer.

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

EC2, where moto 5.2.5 is too lenient or too sparse for the provider's own checks:
- DeleteNatGateway: an unknown ID answers NatGatewayNotFound (moto fails with a 500). The
  gateway's network interface goes and its Elastic IP is disassociated, as EC2 does; the
  gateway reports `deleting` in the next two DescribeNatGateways answers that include it,
  `deleted` from then on (so a client really waits, and a VPC delete meanwhile is refused).
- DeleteVpc: refused with DependencyViolation while the VPC still holds a NAT gateway that is
  not `deleted` or `failed`, a VPC endpoint that is not `deleted`, or a network interface
  (moto checks only subnets, VPN gateways and route tables).
- CreateVpcEndpoint: an interface endpoint's network interfaces are described as EC2
  describes them (`VPC Endpoint Interface vpce-…`), as are a NAT gateway's (`Interface for
  NAT Gateway nat-…`).
- ModifyVpcEndpoint: PrivateDnsEnabled and ResetPolicy are honoured (moto ignores them); a
  gateway endpoint's route goes into each route table added and out of each removed, and an
  interface endpoint gets a network interface in each subnet added and loses the one in each
  subnet removed.

- CloudFormation resource events and failed creates: moto creates a stack's resources in
  one go and reports only stack-level events; a resource that fails to create makes the
  CreateStack call itself fail with a server error, leaving the stack CREATE_IN_PROGRESS for
  ever. Here each resource gets CREATE_IN_PROGRESS and CREATE_COMPLETE events, and one that
  fails gets CREATE_FAILED with the service's message as its reason; the stack then rolls
  back (ROLLBACK_IN_PROGRESS, its created resources deleted, ROLLBACK_COMPLETE, with the
  status reason CloudFormation gives), and CreateStack answers as usual. A nested stack
  (AWS::CloudFormation::Stack) that rolls back fails its parent's resource with
  CloudFormation's "Embedded stack … was not successfully created" and the nested stack's
  ID as physical ID, so a client can look inside it; the nested stack is deleted, its events
  still readable by its ID.
- ExecuteChangeSet refreshes the stack's outputs from the new template (moto keeps the
  outputs of the template the stack was created with).

Usage: python scripts/local_aws_server.py [moto_server's arguments, e.g. -H 127.0.0.1 -p 5000]
"""

import json
import sys
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
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


# --- EC2 -------------------------------------------------------------------------------------

from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
from moto.ec2.models.nat_gateways import NatGateway, NatGatewayBackend
from moto.ec2.models.vpcs import VPCBackend, VPCEndPoint
from moto.ec2.responses.vpcs import VPCs
from moto.ec2.utils import random_private_ip

# Per NAT gateway ID: how many DescribeNatGateways answers still say deleting.
_NAT_DELETING: dict[str, int] = {}

_nat_init = NatGateway.__init__


def _nat_gateway_init(self: Any, backend: Any, *args: Any, **kwargs: Any) -> None:
    _nat_init(self, backend, *args, **kwargs)
    self._eni.description = f"Interface for NAT Gateway {self.id}"
    self._eni.requester_managed = True


def delete_nat_gateway(self: Any, nat_gateway_id: str) -> Any:
    nat_gateway = self.nat_gateways.get(nat_gateway_id)
    if nat_gateway is None:
        raise EC2ClientError("NatGatewayNotFound", f"The Nat Gateway {nat_gateway_id} was not found")
    if nat_gateway.state not in ("deleting", "deleted"):
        for address in self.addresses:
            if address.eni is nat_gateway._eni:
                self.disassociate_address(address=address.public_ip)
        self.enis.pop(nat_gateway._eni.id, None)
        nat_gateway.state = "deleting"
        _NAT_DELETING[nat_gateway.id] = 2
    return nat_gateway


_describe_nat_gateways = NatGatewayBackend.describe_nat_gateways


def describe_nat_gateways(self: Any, filters: Any, nat_gateway_ids: list[str] | None) -> list[Any]:
    answer = _describe_nat_gateways(self, filters, nat_gateway_ids)
    for nat_gateway in answer:
        if _NAT_DELETING.get(nat_gateway.id, 0) > 0:
            _NAT_DELETING[nat_gateway.id] -= 1
        elif nat_gateway.state == "deleting":
            nat_gateway.state = "deleted"
    return answer


_delete_vpc = VPCBackend.delete_vpc


def delete_vpc(self: Any, vpc_id: str) -> Any:
    held = [n for n in self.nat_gateways.values() if n.vpc_id == vpc_id and n.state not in ("deleted", "failed")]
    held += [e for e in self.vpc_end_points.values() if e.vpc_id == vpc_id and e.state != "deleted"]
    held += [i for i in self.enis.values() if i.subnet.vpc_id == vpc_id]
    if held:
        raise DependencyViolationError(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
    return _delete_vpc(self, vpc_id)


_create_vpc_endpoint = VPCBackend.create_vpc_endpoint


def create_vpc_endpoint(self: Any, *args: Any, **kwargs: Any) -> Any:
    endpoint = _create_vpc_endpoint(self, *args, **kwargs)
    for eni_id in endpoint.network_interface_ids:
        self.enis[eni_id].description = f"VPC Endpoint Interface {endpoint.id}"
        self.enis[eni_id].requester_managed = True
    return endpoint


def modify_vpc_endpoint_options(
    self: Any,
    endpoint_id: str,
    private_dns_enabled: bool | None,
    reset_policy: bool,
    added_route_tables: list[str],
    removed_route_tables: list[str],
) -> None:
    endpoint = self.get_vpc_end_point(endpoint_id)
    if private_dns_enabled is not None:
        endpoint.private_dns_enabled = private_dns_enabled
    if reset_policy:
        endpoint.policy_document = json.dumps(VPCEndPoint.DEFAULT_POLICY)
    if (endpoint.vpc_endpoint_type or "").lower() != "interface":
        prefix_list = endpoint.destination_prefix_list_id
        if prefix_list:
            for table in added_route_tables:
                self.create_route(table, None, gateway_id=endpoint.id, destination_prefix_list_id=prefix_list)
            for table in removed_route_tables:
                self.delete_route(table, prefix_list)
        return
    have = {self.enis[i].subnet.id: i for i in endpoint.network_interface_ids if i in self.enis}
    for subnet_id in endpoint.subnet_ids or []:
        if subnet_id not in have:
            eni = self.create_network_interface(self.get_subnet(subnet_id), random_private_ip())
            eni.description = f"VPC Endpoint Interface {endpoint.id}"
            eni.requester_managed = True
            endpoint.network_interface_ids.append(eni.id)
    for subnet_id, eni_id in have.items():
        if subnet_id not in (endpoint.subnet_ids or []):
            self.enis.pop(eni_id, None)
            endpoint.network_interface_ids.remove(eni_id)


NatGateway.__init__ = _nat_gateway_init  # type: ignore[method-assign]
for function in (delete_nat_gateway, describe_nat_gateways):
    setattr(NatGatewayBackend, function.__name__, function)
for function in (delete_vpc, create_vpc_endpoint, modify_vpc_endpoint_options):
    setattr(VPCBackend, function.__name__, function)

_modify_vpc_endpoint = VPCs.modify_vpc_endpoint


def _modify_vpc_endpoint_with_options(self: Any) -> ActionResult:
    answer = _modify_vpc_endpoint(self)
    self.ec2_backend.modify_vpc_endpoint_options(
        self._get_param("VpcEndpointId"),
        self._get_bool_param("PrivateDnsEnabled"),
        bool(self._get_bool_param("ResetPolicy", False)),
        self._get_param("AddRouteTableIds", []),
        self._get_param("RemoveRouteTableIds", []),
    )
    return answer


VPCs.modify_vpc_endpoint = _modify_vpc_endpoint_with_options  # type: ignore[method-assign]


class _ResourceFailed(Exception):
    """A stack resource that failed to create, carried out of moto's resource map."""

    def __init__(self, logical_id: str, resource_type: str, reason: str, physical_id: str = "") -> None:
        super().__init__(reason)
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason
        self.physical_id = physical_id


class _NestedStackFailed(Exception):
    def __init__(self, stack_id: str, reason: str) -> None:
        super().__init__(reason)
        self.stack_id = stack_id
        self.reason = reason


def _resource_event(stack: Any, logical_id: str, physical_id: str, resource_type: str, status: str, reason: str | None = None) -> None:
    stack.events.append(
        cfn_models.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical_id,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _reason(error: Exception) -> str:
    message = getattr(error, "message", None) or getattr(error, "description", None) or str(error)
    return f"{type(error).__name__}: {message}" if not getattr(error, "code", None) else f"{message}"


_parse_and_create_resource = cfn_parsing.parse_and_create_resource


def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str) -> Any:
    stack = cfn_models.cloudformation_backends[account_id][region_name].stacks.get(resources_map.stack_id)
    resource_type = resource_json.get("Type", "")
    if stack is not None:
        _resource_event(stack, logical_id, "", resource_type, "CREATE_IN_PROGRESS")
    try:
        resource = _parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
    except _ResourceFailed:
        raise
    except _NestedStackFailed as failed:
        raise _ResourceFailed(logical_id, resource_type, failed.reason, failed.stack_id) from failed
    except Exception as error:  # what the service refused, whatever moto raised it as
        raise _ResourceFailed(logical_id, resource_type, _reason(error)) from error
    if stack is not None and resource is not None:
        physical_id = getattr(resource, "physical_resource_id", "") or ""
        _resource_event(stack, logical_id, str(physical_id), resource_type, "CREATE_COMPLETE")
    return resource


cfn_parsing.parse_and_create_resource = parse_and_create_resource

_create_resources = cfn_models.Stack.create_resources


def create_resources(self: Any) -> None:
    try:
        _create_resources(self)
    except _ResourceFailed as failed:
        _resource_event(self, failed.logical_id, failed.physical_id, failed.resource_type, "CREATE_FAILED", failed.reason)
        summary = f"The following resource(s) failed to create: [{failed.logical_id}]. "
        self._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=summary + "Rollback requested by user.")
        try:
            self.resource_map.delete()
        except Exception:  # a rollback that leaves something behind still completes here
            pass
        self._add_stack_event("ROLLBACK_COMPLETE")
        self.status = "ROLLBACK_COMPLETE"
        self.stack_status_reason = summary.strip()


cfn_models.Stack.create_resources = create_resources

_create_nested = cfn_models.Stack.create_from_cloudformation_json.__func__


def create_nested(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any) -> Any:
    nested = _create_nested(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    if nested.status == "ROLLBACK_COMPLETE":
        # The parent's rollback removes it; its events stay readable by its ID.
        cfn_models.cloudformation_backends[account_id][region_name].delete_stack(nested.stack_id)
        raise _NestedStackFailed(
            nested.stack_id,
            f"Embedded stack {nested.stack_id} was not successfully created: "
            + getattr(nested, "stack_status_reason", "a resource failed"),
        )
    return nested


cfn_models.Stack.create_from_cloudformation_json = classmethod(create_nested)

_execute_change_set = cfn_models.CloudFormationBackend.execute_change_set


def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    _execute_change_set(self, change_set_name, stack_name)
    change_set = self.change_sets.get(change_set_name) or next(
        (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
    )
    stack = self.stacks.get(change_set.stack_id) if change_set is not None else None
    if stack is not None:
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        stack.description = stack.template_dict.get("Description")


cfn_models.CloudFormationBackend.execute_change_set = execute_change_set

# Drift detection: moto has no DetectStackResourceDrift and answers it with a bare 500, which
# a client must treat as a failure worth retrying. Local AWS says plainly that it cannot do it,
# as a refusal, so a drift check reports the resource as not checked, with this reason.
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.responses import CloudFormationResponse


class DriftDetectionUnavailable(CloudFormationError):
    code = "NotImplemented"
    status_code = 400

    def __init__(self) -> None:
        super().__init__("drift detection is not implemented by local AWS (moto)")


def _detect_stack_resource_drift(self: Any) -> Any:
    raise DriftDetectionUnavailable()


CloudFormationResponse.detect_stack_resource_drift = _detect_stack_resource_drift

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
