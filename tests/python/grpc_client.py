"""What every Python client check shares: stubs generated from proto/ at run time (grpcio-tools) and the error
model decoded with grpcio-status, as docs/clients.md shows a Python team."""

import os
import subprocess
import sys


def generate(proto_dir, out_dir):
    """Stubs from proto/, exactly as docs/clients.md tells a Python team: grpcio-tools for the gateway's files;
    google.rpc's Status and error details come ready-made from googleapis-common-protos (pulled in by
    grpcio-status)."""
    gateway_protos = []
    for root, _, files in os.walk(os.path.join(proto_dir, "alipay")):
        gateway_protos += [os.path.relpath(os.path.join(root, f), proto_dir) for f in files if f.endswith(".proto")]
    import grpc_tools
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", proto_dir, "-I", well_known,
         "--python_out", out_dir, "--grpc_python_out", out_dir, *sorted(gateway_protos)],
        check=True,
    )
    sys.path.insert(0, out_dir)


def details_of(error, kind):
    """The first detail of type `kind` in the error's google.rpc.Status (docs/clients.md)."""
    from grpc_status import rpc_status
    status = rpc_status.from_call(error)
    assert status is not None, "no grpc-status-details-bin trailer"
    for detail in status.details:
        found = kind()
        if detail.Unpack(found):
            return found
    raise AssertionError(f"no {kind.DESCRIPTOR.full_name} in {status}")
