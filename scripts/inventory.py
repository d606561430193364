#!/usr/bin/env python3
"""Lists what an AWS account holds of the kinds of resources infra's reference project makes.

    .venv/bin/python scripts/inventory.py [--endpoint-url URL] [--region REGION]

Prints one JSON object: for each kind ("iam roles", "ec2 vpcs", "s3 buckets", ...) the sorted
identifiers of what exists, with what every account has from the start (the default VPC and
its subnets, gateway, route table and security group) left out. The Quick start prints it after
`destroy`, and the reference project's end-to-end test compares it with the fresh account's,
to show that nothing of the project is left behind.

Credentials come from the environment, as for the AWS CLI. It uses boto3, which the local AWS
(moto) installs with itself, so it needs nothing more than scripts/local-aws.sh does.
"""

import argparse
import json
import sys

import boto3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()

    def client(service):
        return boto3.client(service, region_name=args.region, endpoint_url=args.endpoint_url)

    def pages(service, operation, key, **kwargs):
        paginator = client(service).get_paginator(operation)
        for page in paginator.paginate(**kwargs):
            yield from page.get(key, [])

    ec2 = client("ec2")
    default_vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault")}

    def in_own_vpc(items):
        return [i for i in items if i.get("VpcId") not in default_vpcs]

    def live(items, state_key, gone):
        return [i for i in items if i.get(state_key) not in gone]

    sagemaker = client("sagemaker")
    inventory = {
        "iam roles": [r["RoleName"] for r in pages("iam", "list_roles", "Roles")],
        "iam policies": [p["Arn"] for p in pages("iam", "list_policies", "Policies", Scope="Local")],
        "iam instance profiles": [
            p["InstanceProfileName"] for p in pages("iam", "list_instance_profiles", "InstanceProfiles")
        ],
        "ec2 vpcs": sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")),
        "ec2 subnets": [s["SubnetId"] for s in in_own_vpc(ec2.describe_subnets()["Subnets"])],
        "ec2 internet gateways": [
            g["InternetGatewayId"]
            for g in ec2.describe_internet_gateways()["InternetGateways"]
            if not any(a.get("VpcId") in default_vpcs for a in g.get("Attachments", []))
        ],
        "ec2 route tables": [t["RouteTableId"] for t in in_own_vpc(ec2.describe_route_tables()["RouteTables"])],
        "ec2 security groups": [g["GroupId"] for g in in_own_vpc(ec2.describe_security_groups()["SecurityGroups"])],
        "ec2 nat gateways": [
            g["NatGatewayId"] for g in live(ec2.describe_nat_gateways()["NatGateways"], "State", {"deleted"})
        ],
        "ec2 elastic ips": [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]],
        "ec2 vpc endpoints": [
            e["VpcEndpointId"] for e in live(ec2.describe_vpc_endpoints()["VpcEndpoints"], "State", {"deleted"})
        ],
        "s3 buckets": [b["Name"] for b in client("s3").list_buckets().get("Buckets", [])],
        "ecr repositories": [r["repositoryName"] for r in pages("ecr", "describe_repositories", "repositories")],
        "sagemaker models": [m["ModelName"] for m in sagemaker.list_models()["Models"]],
        "sagemaker endpoint configs": [
            c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
        ],
        "sagemaker endpoints": [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]],
        "sagemaker model package groups": [
            g["ModelPackageGroupName"] for g in sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        ],
        "autoscaling scalable targets": [
            t["ResourceId"]
            for t in client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")[
                "ScalableTargets"
            ]
        ],
        "cloudformation stacks": [
            s["StackName"]
            for s in pages("cloudformation", "list_stacks", "StackSummaries")
            if s["StackStatus"] != "DELETE_COMPLETE"
        ],
        "cloudwatch dashboards": [
            d["DashboardName"] for d in client("cloudwatch").list_dashboards().get("DashboardEntries", [])
        ],
    }
    json.dump({kind: sorted(ids) for kind, ids in inventory.items()}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
