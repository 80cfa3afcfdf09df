"""Every error the program raises for input it cannot deploy prints as its message in `pulumi preview`.

The Python language host prints a `pulumi.RunError` as its message alone; any other exception becomes
"Program failed with an unhandled exception" and a traceback that buries what to fix."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pulumi
import pytest

import dhakacart_infra
from dhakacart_infra.errors import ComponentInputError, ConfigError, ConfigProblem, DhakacartError

PROGRAM_ERRORS = [
    ComponentInputError,
]

# Not raised by the program in `pulumi preview`: the offline plan, the chart recorder and ops tools are
# their own CLIs, and the kubeconfig dynamic provider's error is reported by the engine as a failed
# operation.
OUTSIDE_THE_PROGRAM = ("dhakacart_infra.plan", "dhakacart_infra.ops", "dhakacart_infra.policy",
                       "dhakacart_infra.charts")
PROVIDER_ERRORS = {"dhakacart_infra.aws.kubeconfig_provider.KubeconfigError"}


@pytest.mark.parametrize("error_type", PROGRAM_ERRORS, ids=lambda t: t.__name__)
def test_each_component_error_is_a_run_error_and_still_a_value_error(error_type):
    error = error_type("acmeEmail must be an e-mail address")
    assert isinstance(error, DhakacartError) and isinstance(error, pulumi.RunError)
    assert isinstance(error, ValueError)  # callers that catch ValueError keep working
    assert str(error) == "acmeEmail must be an e-mail address"


def test_config_error_keeps_its_message_and_problems():
    error = ConfigError([ConfigProblem("vpcCidr", "banana", "is not a CIDR", "pulumi config set vpcCidr x")])
    assert isinstance(error, DhakacartError) and isinstance(error, pulumi.RunError)
    assert error.keys == ["vpcCidr"] and "1 configuration problem:" in str(error)


def test_no_error_class_in_the_program_escapes_the_common_base():
    found = []
    for module_info in pkgutil.walk_packages(dhakacart_infra.__path__, "dhakacart_infra."):
        if module_info.name.startswith(OUTSIDE_THE_PROGRAM):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, Exception)
                    and value.__module__ == module.__name__ and name.endswith("Error")):
                found.append(value)
    assert set(PROGRAM_ERRORS) <= set(found)
    names = {f"{t.__module__}.{t.__name__}": t for t in found}
    escaping = [name for name, t in names.items() if not issubclass(t, DhakacartError)]
    assert sorted(escaping) == sorted(PROVIDER_ERRORS)
