#!/usr/bin/env python3
"""Generates the benchmark graph for infra and for Terraform: the same N resources, the same chains.

    generate.py infra DIR N CHAIN       infra.toml + stacks/backend/*.yaml of Infra::Local::Data
    generate.py terraform DIR N CHAIN   main.tf of terraform_data

Resources form independent chains of CHAIN resources: the first of each chain takes the literal
"root" as its input, every other one takes the previous resource's output (CHAIN=1 means no
dependencies at all). infra's templates are split into files of at most 500 resources, the
CloudFormation limit per template; the files of a layer merge into one stack, so a chain may
cross a file boundary without changing the graph.
"""

import os
import sys

TEMPLATE_LIMIT = 500


def source_index(i, chain):
    """The resource whose output resource i takes as input, or None for a chain head."""
    return i - 1 if chain > 1 and i % chain else None


def write_infra(directory, n, chain):
    layer = os.path.join(directory, "stacks", "backend")
    os.makedirs(layer, exist_ok=True)
    with open(os.path.join(directory, "infra.toml"), "w") as f:
        f.write('[project]\nname = "bench"\nregion = "us-east-1"\n\n')
        f.write('[state]\npath = "state"\n\n[environments.dev]\n')
    for part, start in enumerate(range(0, n, TEMPLATE_LIMIT)):
        lines = ['AWSTemplateFormatVersion: "2010-09-09"', "Resources:"]
        for i in range(start, min(n, start + TEMPLATE_LIMIT)):
            src = source_index(i, chain)
            value = "root" if src is None else f"!GetAtt R{src}.Output"
            lines += [f"  R{i}:", "    Type: Infra::Local::Data", "    Properties:", f"      Input: {value}"]
        with open(os.path.join(layer, f"part{part:03}.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")


def write_terraform(directory, n, chain):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "main.tf"), "w") as f:
        for i in range(n):
            src = source_index(i, chain)
            value = '"root"' if src is None else f"terraform_data.r{src}.output"
            f.write(f'resource "terraform_data" "r{i}" {{\n  input = {value}\n}}\n')


def main(argv):
    writers = {"infra": write_infra, "terraform": write_terraform}
    if len(argv) != 5 or argv[1] not in writers:
        sys.exit("usage: generate.py infra|terraform DIR N CHAIN")
    try:
        n, chain = int(argv[3]), int(argv[4])
    except ValueError:
        sys.exit("failed to read N and CHAIN: both must be whole numbers")
    if n < 1 or chain < 1:
        sys.exit("failed to generate: N and CHAIN must be at least 1")
    writers[argv[1]](argv[2], n, chain)


if __name__ == "__main__":
    main(sys.argv)
