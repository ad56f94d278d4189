#!/usr/bin/env python3
"""Checks that the modules of src/ depend on each other only downwards (ARCHITECTURE.md).

Three views of the same rule, all checked:
  1. the `#include "..."` lines of src/<module>/*.[ch] and include/ecology/*.h: every header
     belongs to one module (HEADERS below for the public ones, the folder for src/<module>/x.h);
  2. the symbols: each module's objects in the built libecology.a (`nm`), every undefined
     symbol that another module's object defines;
  3. every eco_ function a header declares is defined in that header's module.
A dependency on a module outside the allowed set, a module or public header missing from the
tables, or another module's private header (*_internal.h, not in SHARED_INTERNAL) fails
the check, naming the file (or object), the symbol or header, and the edge.

Usage: scripts/check_layering.py [--root DIR] [--lib build/libecology.a]
       (without --lib only the includes are checked). Exit 0 clean, 1 violations, 2 usage.
"""
import argparse
import os
import re
import subprocess
import sys

# module -> the modules it may use directly; what those may use is allowed too (closure).
# Library modules only; cli/ (the `ecology` command) may use every one of them.
ALLOWED = {
    "core":      [],
    "tensor":    ["core"],
    "formats":   ["tensor"],
    "tokenizer": ["formats"],            # tokenizer.json is read with core's JSON helpers
    "model":     ["tensor", "formats", "tokenizer"],
    "train":     ["model"],
    "tasks":     ["model", "train"],     # the capability suite and the recipes (recipe.c)
    "artifacts": ["core"],
    "signing":   ["core"],               # keys, DSSE, statements: nothing of the store
    "registry":  ["artifacts", "signing", "formats"],  # formats: compatibility hashes of
                                                       # config.json, weights, adapters
    "breeder":   ["train", "registry", "tasks"],  # merges, mutate, prune, quantize, extract, finetune,
                                         # distill over registered parents (merge.h: the math)
    "verifier":  ["core", "registry"],   # JSON Schema, refusal and deny-list checks, artifact checks
    "evaluator": ["model", "verifier", "registry"],  # corpora, metrics, gates, fitness, reports
                                         # (corpus *building* from the capability suite is tasks')
    "telemetry": ["core"],               # counters, latency histograms, hard examples, Prometheus text
    "promotion": ["evaluator", "registry"],  # Pareto archive, canary judge and controller,
                                         # promote / rollback by alias, the archive's record
    "router":    ["core"],               # routing policies over the engine contract only
    "remote":    ["core"],               # the http engine: an OpenAI-compatible server as an
                                         # engine (libcurl)
    "runtime":   ["model", "registry", "remote"],  # engine pool: one base shared by its
                                         # adapters; registered remote models as http engines
    "daemon":    ["tasks", "breeder", "evaluator", "telemetry", "promotion", "router",
                  "runtime"],            # the ecology loop and the report page
    "server":    ["runtime", "router", "telemetry", "daemon"],  # HTTP: the OpenAI API, admin,
                                         # /metrics, the live report (daemon's page)
    "cli":       ["tasks", "registry", "breeder", "evaluator", "telemetry", "promotion",
                  "router", "runtime", "daemon", "server"],
}

# Public headers (include/ecology/<name>) -> module.
HEADERS = {
    "ecology/core.h": "core",
    "ecology/contracts.h": "core",
    "ecology/tensor.h": "tensor",
    "ecology/safetensors.h": "formats",
    "ecology/config.h": "formats",
    "ecology/peft.h": "formats",
    "ecology/tokenizer.h": "tokenizer",
    "ecology/tokenizer_train.h": "tokenizer",
    "ecology/model.h": "model",
    "ecology/sampler.h": "model",
    "ecology/engine.h": "model",
    "ecology/train.h": "train",
    "ecology/data.h": "train",
    "ecology/trainer.h": "train",
    "ecology/tasks.h": "tasks",
    "ecology/recipe.h": "tasks",
    "ecology/rl.h": "tasks",
    "ecology/artifacts.h": "artifacts",
    "ecology/signing.h": "signing",
    "ecology/registry.h": "registry",
    "ecology/merge.h": "breeder",
    "ecology/merge_dir.h": "breeder",
    "ecology/breed_recipe.h": "breeder",
    "ecology/breed_train.h": "breeder",
    "ecology/quantize.h": "breeder",
    "ecology/gguf.h": "formats",
    "ecology/breeder.h": "breeder",
    "ecology/verifier.h": "verifier",
    "ecology/json_schema.h": "verifier",
    "ecology/eval_metrics.h": "evaluator",
    "ecology/eval_corpus.h": "evaluator",
    "ecology/evaluator.h": "evaluator",
    "ecology/eval_contamination.h": "evaluator",  # issue 19: hidden corpora (w-evreg)
    "ecology/telemetry.h": "telemetry",
    "ecology/pareto.h": "promotion",
    "ecology/canary.h": "promotion",
    "ecology/promotion.h": "promotion",
    "ecology/router.h": "router",
    "ecology/runtime.h": "runtime",
    "ecology/remote.h": "remote",
    "ecology/daemon.h": "daemon",
    "ecology/report.h": "daemon",
    "ecology/server.h": "server",
    "ecology/chat_template.h": "tokenizer",
}

# Sources the build generates (not under src/) -> module.
GENERATED = {
    "sentiment_data.c": "tasks",  # scripts/gen_sentiment_data.py from data/tasks/*.jsonl
}

# Private headers of a module that a module above it may include (with the reason).
SHARED_INTERNAL = {
    "tensor/matvec_internal.h",  # the decode step's row-range matvec and its bf16 prep
}


def closure():
    out = {}
    for m in ALLOWED:
        seen, todo = set(), list(ALLOWED[m])
        while todo:
            d = todo.pop()
            if d not in seen:
                seen.add(d)
                todo.extend(ALLOWED.get(d, []))
        out[m] = seen
    return out


def header_module(inc):
    """(module, private) of an include path, or (None, False) when it is not ours."""
    if inc in HEADERS:
        return HEADERS[inc], False
    parts = inc.split("/")
    if len(parts) == 2 and parts[0] in ALLOWED:
        return parts[0], parts[1].endswith("_internal.h") and inc not in SHARED_INTERNAL
    if parts[0] == "ecology":
        return "?", False
    return None, False


def check(root, lib, nm):
    """The list of violations (strings) of the tree at root and the archive lib (may be None)."""
    root = os.path.abspath(root)
    allowed = closure()
    errors = []
    inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

    def check_includes(path, module):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = inc_re.match(line)
                if not m:
                    continue
                inc = m.group(1)
                hm, private = header_module(inc)
                if hm is None or hm == module:
                    continue
                if hm == "?":
                    errors.append(f"{rel}:{lineno}: #include \"{inc}\": a public header missing from "
                                  f"HEADERS in scripts/check_layering.py")
                elif hm not in allowed[module]:
                    errors.append(f"{rel}:{lineno}: #include \"{inc}\": {module} may not depend on {hm} "
                                  f"({module} may use: {', '.join(sorted(allowed[module])) or 'nothing'})")
                elif private:
                    errors.append(f"{rel}:{lineno}: #include \"{inc}\": {inc} is private to {hm}")

    src = os.path.join(root, "src")
    obj_module = {}
    headers = []  # (path, module) of every header, for the declared-here-defined-there check
    for name, mod in GENERATED.items():
        obj_module[name + ".o"] = mod
    for d in sorted(os.listdir(src)):
        full = os.path.join(src, d)
        if not os.path.isdir(full):
            continue
        if d not in ALLOWED:
            errors.append(f"src/{d}/: module '{d}' is not in the table of scripts/check_layering.py")
            continue
        for name in sorted(os.listdir(full)):
            if name.endswith((".c", ".h")):
                check_includes(os.path.join(full, name), d)
            if name.endswith(".h"):
                headers.append((os.path.join(full, name), d))
            if name.endswith(".c"):
                if name + ".o" in obj_module:
                    errors.append(f"src/{d}/{name}: same file name as in src/{obj_module[name + '.o']}/: "
                                  f"objects in libecology.a are named by file name only")
                obj_module[name + ".o"] = d
    pub = os.path.join(root, "include", "ecology")
    for name in sorted(os.listdir(pub)):
        if not name.endswith(".h"):
            continue
        inc = "ecology/" + name
        if inc not in HEADERS:
            errors.append(f"include/{inc}: a public header missing from HEADERS in scripts/check_layering.py")
            continue
        check_includes(os.path.join(pub, name), HEADERS[inc])
        headers.append((os.path.join(pub, name), HEADERS[inc]))

    if lib:
        # Object files whose generated source lives in the build tree map by name too.
        try:
            out = subprocess.run([nm, "-A", "--defined-only", "-g", lib], check=True,
                                 capture_output=True, text=True).stdout
            und = subprocess.run([nm, "-A", "-u", lib], check=True, capture_output=True,
                                 text=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise SystemExit(f"check_layering: {nm} {lib}: {e}")
        defined = {}  # symbol -> (module, object)

        def obj_of(line):
            # "lib.a:member.o: 0000 T sym" or "lib.a:member.o:                 U sym"
            head, _, rest = line.partition(".o:")
            return os.path.basename(head.split(":")[-1]) + ".o", rest.split()

        for line in out.splitlines():
            obj, f = obj_of(line)
            if len(f) < 2:
                continue
            mod = obj_module.get(obj)
            if mod is None:
                errors.append(f"{obj} in {os.path.basename(lib)}: no source file of that name under "
                              f"src/<module>/")
                continue
            defined[f[-1]] = (mod, obj)
        # A function is defined in the module whose header declares it (a core header whose
        # functions live in model would let core's users depend on model unseen).
        decl_re = re.compile(r"^(?!return\b)(?:[A-Za-z_]\w*[ \t*]+)+(eco_\w+)\s*\(", re.M)
        for hpath, hmod in headers:
            with open(hpath, encoding="utf-8", errors="replace") as f:
                text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
            for sym in sorted(set(decl_re.findall(text))):
                if sym in defined and defined[sym][0] != hmod:
                    errors.append(f"{os.path.relpath(hpath, root)} ({hmod}) declares {sym}, defined in "
                                  f"{defined[sym][1]} ({defined[sym][0]}): define it in {hmod}")
        for line in und.splitlines():
            obj, f = obj_of(line)
            if len(f) < 2 or f[-2] != "U":
                continue
            mod, sym = obj_module.get(obj), f[-1]
            if mod is None or sym not in defined:
                continue
            dmod, dobj = defined[sym]
            if dmod != mod and dmod not in allowed[mod]:
                errors.append(f"{obj} ({mod}) uses {sym} from {dobj} ({dmod}): {mod} may not depend on "
                              f"{dmod} ({mod} may use: {', '.join(sorted(allowed[mod])) or 'nothing'})")

    return errors


def self_test():
    """The check must fail on a wrong-way include, a wrong-way symbol, an unknown module and
    another module's private header, and pass a clean tree."""
    import tempfile
    failures = []
    with tempfile.TemporaryDirectory() as t:
        def write(rel, text):
            p = os.path.join(t, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        for inc in HEADERS:
            write("include/" + inc, '#include "ecology/core.h"\n' if inc != "ecology/core.h" else "")
        write("src/core/log.c", '#include "ecology/core.h"\n')
        write("src/model/engine.c", '#include "ecology/model.h"\n#include "ecology/tokenizer.h"\n')
        write("src/model/model_internal.h", "")
        nm = os.path.join(t, "nm")
        # a stand-in for nm over a two-object archive: engine.c.o (model) uses eco_log (core)
        write("nm", "#!/bin/sh\nfor a; do case $a in --defined-only) d=1;; esac; done\n"
                    "if [ -n \"$d\" ]; then echo 'l.a:log.c.o:0000 T eco_log'; "
                    "echo 'l.a:engine.c.o:0000 T eco_engine_open'; "
                    "else cat \"$(dirname $0)/und\"; fi\n")
        os.chmod(nm, 0o755)
        write("und", "l.a:engine.c.o:                 U eco_log\n")

        def expect(what, want):
            errs = check(t, "l.a", nm)
            hit = [e for e in errs if want and want in e]
            if (want is None and errs) or (want is not None and not hit):
                failures.append(f"{what}: expected {want or 'no violation'}, got {errs or 'none'}")

        expect("clean tree", None)
        write("src/core/log.c", '#include "ecology/core.h"\n#include "ecology/model.h"\n')
        expect("core including model.h", 'src/core/log.c:2: #include "ecology/model.h": core may not depend on model')
        write("src/core/log.c", '#include "ecology/core.h"\n')
        write("und", "l.a:engine.c.o:                 U eco_log\nl.a:log.c.o:                 U eco_engine_open\n")
        expect("core using a model symbol", "log.c.o (core) uses eco_engine_open from engine.c.o (model)")
        write("und", "l.a:engine.c.o:                 U eco_log\n")
        write("src/tensor/attend.c", '#include "model/model_internal.h"\n')
        expect("tensor including model's private header", "tensor may not depend on model")
        write("src/tensor/attend.c", "")
        write("src/train/t.c", '#include "model/model_internal.h"\n')
        expect("train including model_internal.h", "model/model_internal.h is private to model")
        os.remove(os.path.join(t, "src/train/t.c"))
        write("include/ecology/contracts.h", "void eco_engine_open(void);\n")
        expect("a core header declaring a model function",
               "include/ecology/contracts.h (core) declares eco_engine_open, defined in engine.c.o (model)")
        write("include/ecology/contracts.h", "")
        write("src/widget/b.c", "")
        expect("a module not in the table", "module 'widget' is not in the table")
        os.remove(os.path.join(t, "src/widget/b.c"))
        os.rmdir(os.path.join(t, "src/widget"))
        write("include/ecology/new.h", "")
        expect("a public header not in the table", "include/ecology/new.h: a public header missing")
    for f in failures:
        print("check_layering self-test: " + f, file=sys.stderr)
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--lib")
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--self-test", action="store_true",
                    help="check that the checker fails on planted violations, then exit")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    errors = check(a.root, a.lib, a.nm)
    if errors:
        for e in errors:
            print("layering: " + e, file=sys.stderr)
        print(f"layering: {len(errors)} violation(s); the allowed edges are the ALLOWED table of "
              f"scripts/check_layering.py (ARCHITECTURE.md's module table)", file=sys.stderr)
        return 1
    print("layering: clean (" + ", ".join(f"{m} <- {'/'.join(ALLOWED[m]) or 'libc'}" for m in ALLOWED) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
