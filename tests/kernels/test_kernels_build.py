"""Building, caching and loading the C++ kernels (kernels/build.py), and what happens
when that cannot be done."""

import os
import platform
import shutil
import stat
import subprocess
import sys
import time
import warnings

import pytest
import torch

from cnnkit import zoo
from cnnkit.kernels import build
from real_batches import real_batch

KERNEL = "conv_pool_relu"


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache and no library loaded yet in this process."""
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "_loaded", {})
    monkeypatch.setattr(build, "_warned", set())
    monkeypatch.delenv(build.KERNELS_ENV, raising=False)
    monkeypatch.delenv(build.MARCH_ENV, raising=False)  # the flags below are the native ones
    return tmp_path


def fake_compiler(folder, script: str) -> str:
    """An executable standing in for the C++ compiler."""
    path = folder / "fake-c++"
    path.write_text(f"#!{sys.executable}\nimport os, sys\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def real_compiler() -> str:
    compiler = build.find_compiler()
    if compiler is None:
        pytest.skip("no C++ compiler on this machine")
    return compiler


def test_library_is_built_once_then_loaded_from_the_cache(fresh, monkeypatch):
    compiler = real_compiler()
    library = build.load_kernel(KERNEL)
    assert library is not None
    assert library.cnnkit_conv_pool_relu_supports(3, 3, 1) == 1
    assert library.cnnkit_conv_pool_relu_supports(7, 7, 1) == 0
    built = build.library_path(KERNEL, compiler)
    assert built.is_file()
    assert [p.name for p in built.parent.iterdir()] == [built.name]  # no temporary left
    monkeypatch.setattr(build, "_loaded", {})  # a new process, as far as loading goes

    def no_build(*args):
        raise AssertionError("the cached library should have been used")

    monkeypatch.setattr(build, "build", no_build)
    assert build.load_kernel(KERNEL) is not None


def test_a_broken_cached_library_is_rebuilt(fresh):
    path = build.library_path(KERNEL, real_compiler())
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a library")  # another machine's copy, say
    assert build.load_kernel(KERNEL) is not None
    assert path.stat().st_size > 1000


@pytest.mark.parametrize("refused, tried", [
    ("-march=native", [(True, True), (True, False), (False, True)]),
    ("-fopenmp", [(True, True), (True, False)]),  # as Apple's clang
])
def test_compiler_refusing_a_flag_builds_without_it(fresh, monkeypatch, refused, tried):
    real = real_compiler()
    log = fresh / "calls.txt"
    script = (f"open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
              f"if {refused!r} in sys.argv:\n"
              f"    sys.exit('error: unsupported option {refused}')\n"
              f"os.execv({real!r}, [{real!r}] + sys.argv[1:])")
    monkeypatch.setenv("CXX", fake_compiler(fresh, script))
    assert build.load_kernel(KERNEL) is not None
    calls = log.read_text().splitlines()
    assert [("-march=native" in c, "-fopenmp" in c) for c in calls] == tried


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="the target named here, x86-64-v2, is an x86 one")
def test_the_target_can_be_chosen_and_keys_the_cache(fresh, monkeypatch):
    real = real_compiler()
    log = fresh / "calls.txt"
    script = (f"open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
              f"os.execv({real!r}, [{real!r}] + sys.argv[1:])")
    monkeypatch.setenv("CXX", fake_compiler(fresh, script))
    native = build.library_path(KERNEL, real)
    monkeypatch.setenv(build.MARCH_ENV, "x86-64-v2")
    assert build.library_path(KERNEL, real) != native
    library = build.load_kernel(KERNEL)
    assert library is not None and library.cnnkit_conv_pool_relu_supports(3, 3, 1) == 1
    assert "-march=x86-64-v2" in log.read_text().split()
    assert "-march=native" not in log.read_text().split()


@pytest.mark.parametrize("compiler, reason", [
    ("/no/such/compiler", "could not run"),
    (None, "error: this compiler always fails"),
])
def test_no_working_compiler_warns_once_and_training_uses_torch_ops(fresh, monkeypatch,
                                                                     compiler, reason):
    if compiler is None:
        compiler = fake_compiler(fresh, "sys.exit('x.cpp:1: error: this compiler always fails')")
    monkeypatch.setenv("CXX", compiler)
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.build()
    x = real_batch(8)
    with pytest.warns(UserWarning, match=f"could not build its {KERNEL} kernel.*{reason}"
                      ) as warned:
        out = model.net(x)  # two kernels (both layers) fail alike: one warning
    assert len([w for w in warned if "could not build" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per process, not per call
        again = model.net(x)
    monkeypatch.setenv(build.KERNELS_ENV, "0")
    on_torch_ops = model.net(x)
    assert torch.equal(out, on_torch_ops) and torch.equal(again, on_torch_ops)
    assert not list((fresh / "cache" / "kernels").glob("*"))


def test_a_library_that_builds_but_does_not_load_is_built_with_other_flags(fresh,
                                                                          monkeypatch):
    real = real_compiler()
    script = ("if '-march=native' in sys.argv:\n"  # 'compiles' to something unloadable
              "    open(sys.argv[sys.argv.index('-o') + 1], 'wb').write(b'not a library')\n"
              "    sys.exit(0)\n"
              f"os.execv({real!r}, [{real!r}] + sys.argv[1:])")
    monkeypatch.setenv("CXX", fake_compiler(fresh, script))
    library = build.load_kernel(KERNEL)
    assert library is not None
    assert library.cnnkit_conv_pool_relu_supports(3, 3, 3) == 1


def test_gnu_compiler_builds_with_openmp(fresh):
    compiler = real_compiler()
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    if "Free Software Foundation" not in version:
        pytest.skip(f"{compiler} is not GCC; OpenMP is optional there")
    assert build.load_kernel(KERNEL).cnnkit_conv_pool_relu_openmp() == 1


def test_kernels_turned_off_load_nothing_and_say_nothing(fresh, monkeypatch):
    monkeypatch.setenv(build.KERNELS_ENV, "0")
    monkeypatch.setenv("CXX", "/no/such/compiler")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert build.load_kernel(KERNEL) is None
    assert not (fresh / "cache" / "kernels").exists()


def test_first_error_picks_the_error_line():
    text = "x.cpp: In function 'f':\nx.cpp:3:1: error: expected ';'\ncompilation terminated.\n"
    assert build.first_error(text) == "x.cpp:3:1: error: expected ';'"
    assert build.first_error("ld: something odd\n") == "ld: something odd"
    assert build.first_error("") == ""


def test_cache_key_follows_the_compiler(fresh):
    assert build.library_path(KERNEL, "g++") != build.library_path(KERNEL, "clang++")
    assert build.library_path(KERNEL, "g++") == build.library_path(KERNEL, "g++")
    assert os.fspath(build.library_path(KERNEL, "g++")).startswith(os.fspath(fresh / "cache"))


def test_a_killed_builds_leftovers_are_removed_by_the_next_build(fresh):
    folder = build.library_path(KERNEL, real_compiler()).parent
    folder.mkdir(parents=True)
    abandoned, running = folder / "old.so.1.2.tmp", folder / "new.so.3.4.tmp"
    for leftover in (abandoned, running):
        leftover.write_bytes(b"half a library")
    stale = time.time() - build.BUILD_SECONDS - 60
    os.utime(abandoned, (stale, stale))
    assert build.load_kernel(KERNEL) is not None
    assert not abandoned.exists()
    assert running.exists()  # young enough to belong to a build still running


def test_a_change_to_a_shared_header_rebuilds_the_kernels(fresh, monkeypatch):
    sources = fresh / "sources"
    shutil.copytree(build.SOURCE_DIR, sources, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(build, "SOURCE_DIR", sources)
    before = build.library_path(KERNEL, "c++")
    header = sources / "simd.h"
    header.write_text(header.read_text() + "\n// changed\n")
    assert build.library_path(KERNEL, "c++") != before


def clang_compilers() -> list[str]:
    """clang++ on the PATH under its plain or its versioned Debian name."""
    names = ["clang++", *(f"clang++-{version}" for version in range(20, 10, -1))]
    return [found for name in names if (found := shutil.which(name))][:1]


@pytest.mark.skipif(not clang_compilers(), reason="no clang++ here (Debian: apt-get install "
                    "clang), so the kernels' clang build (Apple, FreeBSD) is not checked")
@pytest.mark.parametrize("target", ["native", "x86-64-v3", "x86-64-v2", "aarch64"])
@pytest.mark.parametrize("kernel", ["conv_pool_relu", "winograd"])
def test_the_kernels_compile_with_clang_for_every_width(kernel, target):
    """GCC accepts some vector code clang refuses; clang is the compiler on macOS, where
    the 16-byte (NEON) width runs."""
    if target != "aarch64" and platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("an x86 target")
    flags = ["--target=aarch64-linux-gnu"] if target == "aarch64" else [f"-march={target}"]
    done = subprocess.run([clang_compilers()[0], "-std=c++17", "-fsyntax-only", *flags,
                           str(build.SOURCE_DIR / f"{kernel}.cpp")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
