"""The CPU a benchmark figure was measured on: name, family, model and speed flags."""

from bench.common import cpu_identity, cpuinfo_fields

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: Another
flags\t\t: fpu sse2

"""


def test_identity_names_the_first_processors_family_model_and_speed_flags():
    identity = cpu_identity(cpuinfo_fields(CPUINFO))
    assert identity == {"cpu": "AMD EPYC", "cpu_family": "25", "cpu_model": "17",
                        "cpu_flags": ["avx2", "avx512f", "avx512_bf16"]}


def test_no_cpuinfo_gives_no_flags():
    assert cpu_identity(cpuinfo_fields("")) == {"cpu_flags": []}
