# runner's Python worker (protocol 1, docs/workers.md), embedded in the
# runner binary and started as `python -c SHIM MODULE.py`. It imports the
# module once, then calls one of its functions per request, each call with
# its own output, and exits when runner closes the request pipe.
import os
import sys


def _main():
    import json
    import signal

    # runner's death (the parent-death signal) and runner's stop both send
    # SIGTERM: what the functions started goes too, at once (issue 9).
    def on_term(signum, frame):
        try:
            os.killpg(0, signal.SIGKILL)
        finally:
            os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)

    request_fd = int(os.environ.get("RUNNER_REQUEST_FD", "3"))
    reply_fd = int(os.environ.get("RUNNER_REPLY_FD", "4"))
    for name in ("RUNNER_REQUEST_FD", "RUNNER_REPLY_FD", "RUNNER_WORKER_PROTOCOL"):
        os.environ.pop(name, None)
    root = os.getcwd()
    module_file = sys.argv[1]
    module_path = os.path.join(root, module_file)

    # Bytes that C code buffered in its own stdio also belong to the call
    # that wrote them: flushed with the Python streams.
    try:
        import ctypes

        c_fflush = ctypes.CDLL(None).fflush
        c_fflush.argtypes = [ctypes.c_void_p]
    except Exception:
        c_fflush = None

    def flush():
        out, err = sys.stdout, sys.stderr
        # sys.__stdout__ is usually sys.stdout: each stream flushed once.
        for stream in (
            out,
            err,
            None if sys.__stdout__ is out else sys.__stdout__,
            None if sys.__stderr__ is err else sys.__stderr__,
        ):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:
                pass
        if c_fflush is not None:
            try:
                c_fflush(None)
            except Exception:
                pass

    encode = json.JSONEncoder(separators=(",", ":")).encode

    # Written on fds 1 and 2 after each call, before its reply: runner
    # cuts the output there, so it may send the next request before this
    # reply (the worker never sleeps between two calls). Random, so no
    # output of a task can be taken for it.
    boundary = "\0runner-boundary-%s\0" % os.urandom(16).hex()
    boundary_bytes = boundary.encode()

    def write_all(fd, data):
        try:
            while data:
                data = data[os.write(fd, data):]
        except OSError:
            pass

    def end_call():
        """Flushes the call's output and marks its end on fds 1 and 2."""
        flush()
        write_all(1, boundary_bytes)
        write_all(2, boundary_bytes)

    def send_bytes(data):
        while data:
            data = data[os.write(reply_fd, data):]

    def send(message):
        send_bytes((encode(message) + "\n").encode())

    def user_traceback(exc):
        """The traceback without the frames of this shim and of importlib."""
        import traceback

        tb = exc.__traceback__
        while tb is not None and (
            tb.tb_frame.f_code.co_filename == "<string>"
            or tb.tb_frame.f_code.co_filename.startswith("<frozen ")
        ):
            tb = tb.tb_next
        return "".join(traceback.format_exception(type(exc), exc, tb))

    def one_line(exc):
        text = str(exc).strip().replace("\n", " ")
        return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__

    # Modules under root (the user's helpers) are reported as dependencies:
    # their content is part of every task's fingerprint. Installed packages
    # (a virtual environment inside root too) are not.
    prefix = os.path.join(root, "")
    installed = tuple(
        os.path.join(os.path.abspath(p), "")
        for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}
    )
    reported = set()
    seen_modules = [0]

    def new_deps():
        if len(sys.modules) == seen_modules[0]:
            return []
        seen_modules[0] = len(sys.modules)
        found = []
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if not isinstance(path, str):
                continue
            path = os.path.abspath(path)
            if path in reported or not path.startswith(prefix):
                continue
            reported.add(path)
            parts = path.split(os.sep)
            if (
                path.startswith(installed)
                or "site-packages" in parts
                or "dist-packages" in parts
                or not os.path.isfile(path)
            ):
                continue
            found.append(os.path.relpath(path, root))
        return sorted(found)

    # Script semantics: the module's folder comes first on sys.path, so
    # `import helpers` finds scripts/helpers.py. Its name is its stem, so
    # an `if __name__ == "__main__":` block does not run.
    sys.path[0] = os.path.dirname(module_path)
    sys.argv = [module_file]
    name = os.path.splitext(os.path.basename(module_file))[0]
    if name in sys.modules:
        name = "__runner_module__"
    try:
        import importlib.util

        if not os.path.isfile(module_path):
            raise FileNotFoundError("no module file `%s` under root" % module_file)
        spec = importlib.util.spec_from_file_location(name, module_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.stderr.write(user_traceback(exc))
        flush()
        send({"ready": False, "error": "cannot import `%s`: %s" % (module_file, one_line(exc))})
        os._exit(1)
    # The interpreter's binary stands for its version: an upgrade changes
    # its content, and the tasks run again.
    interpreter = os.path.realpath(sys.executable) if sys.executable else ""
    flush()
    send(
        {
            "ready": True,
            "deps": new_deps() + ([interpreter] if os.path.isfile(interpreter) else []),
            "python": sys.version.split()[0],
            "boundary": boundary,
        }
    )

    import inspect
    import warnings

    signatures = {}

    def signature(function_name):
        """(function, accepted names or None for **kwargs, required names)."""
        if function_name in signatures:
            return signatures[function_name]
        function = getattr(module, function_name, None)
        if function is None or not callable(function):
            raise LookupError(
                "`%s` has no function `%s`" % (module_file, function_name)
            )
        accepted, required, takes_all = set(), [], False
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            parameters, takes_all = [], True
        for p in parameters:
            if p.kind is p.VAR_KEYWORD:
                takes_all = True
            elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                accepted.add(p.name)
                if p.default is p.empty:
                    required.append(p.name)
            elif p.kind is p.POSITIONAL_ONLY and p.default is p.empty:
                raise LookupError(
                    "%s() takes `%s` by position only; runner passes keyword arguments"
                    % (function_name, p.name)
                )
        accepted = None if takes_all else tuple(sorted(accepted))
        signatures[function_name] = (function, accepted, required)
        return signatures[function_name]

    # Per call, the shim's own work is a few microseconds: the request
    # parsed by one decoder made once, the common reply written without
    # the encoder (the 5,000-call goal of bench/python).
    decode = json.JSONDecoder().decode
    requests = os.fdopen(request_fd, "rb", buffering=1 << 16)
    for line in requests:
        request = decode(line.decode("utf-8", "surrogatepass"))
        task_id = request.get("id")
        args = request.get("args", {})
        try:
            function, accepted, required = signature(request.get("function"))
            missing = [n for n in required if n not in args]
            if missing:
                raise LookupError(
                    "%s() needs %s, which this task does not give (it gives: %s; add the others to `with`)"
                    % (
                        request.get("function"),
                        ", ".join("`%s`" % n for n in missing),
                        ", ".join(sorted(args)),
                    )
                )
        except LookupError as exc:
            message = str(exc).strip("'\"")
            sys.stderr.write("error: %s\n" % message)
            end_call()
            send({"id": task_id, "ok": False, "error": message, "fatal": True})
            continue
        kwargs = args if accepted is None else {k: args[k] for k in accepted if k in args}
        stdout, stderr = sys.stdout, sys.stderr
        error = None
        try:
            with warnings.catch_warnings():
                function(**kwargs)
        except SystemExit as exc:
            error = "the function called sys.exit(%r)" % (exc.code,)
        except BaseException as exc:
            sys.stderr.write(user_traceback(exc))
            error = one_line(exc)
        finally:
            # What the call changed for itself stays with it.
            sys.stdout, sys.stderr = stdout, stderr
            if os.getcwd() != root:
                os.chdir(root)
            end_call()
        deps = new_deps()
        if error is None and not deps and type(task_id) is int:
            send_bytes(b'{"id":%d,"ok":true}\n' % task_id)
            continue
        reply = {"id": task_id, "ok": error is None}
        if error is not None:
            reply["error"] = error
        if deps:
            reply["deps"] = deps
        send(reply)
    # The request pipe closed: runner is done (or gone).
    try:
        import atexit

        atexit._run_exitfuncs()
    finally:
        flush()
        os._exit(0)


_main()
