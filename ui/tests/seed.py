"""Seeds a running Keel with the browser tests' data through the official mlflow client (and
OTLP for the 30,000-span trace), then prints the IDs and names the tests need as one JSON line.

Usage: MLFLOW_TRACKING_URI=http://127.0.0.1:PORT python seed.py [--small]
--small shrinks the large data (for developing pages); the test suite seeds the full size.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import mlflow
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

SMALL = "--small" in sys.argv
BIG_RUNS = 500 if SMALL else 10_000
LONG_POINTS = 20_000 if SMALL else 1_000_000
HUGE_SPANS = 3_000 if SMALL else 30_000

URI = os.environ["MLFLOW_TRACKING_URI"]
client = MlflowClient(URI)
mlflow.set_tracking_uri(URI)
rng = random.Random(7)


def log(message: str) -> None:
    print(f"seed: {message}", file=sys.stderr, flush=True)


def seed_demo() -> dict:
    """Experiment "demo": a few rich runs, a parent with children, artifacts and a model."""
    exp_id = client.create_experiment("demo", tags={"mlflow.note.content": "Runs for the UI tests"})
    mlflow.set_experiment(experiment_id=exp_id)
    runs = {}
    for i, (lr, layers) in enumerate([(0.1, 2), (0.01, 4), (0.001, 4)]):
        with mlflow.start_run(run_name=f"train-{i}") as run:
            mlflow.log_params({"lr": lr, "layers": layers, "optimizer": "adam" if i else "sgd"})
            mlflow.set_tags({"team": "vision", "stage": "dev" if i < 2 else "prod"})
            for step in range(50):
                loss = 1.0 / (1 + step * lr * 10) + rng.random() * 0.02
                mlflow.log_metrics({"loss": loss, "accuracy": 1 - loss / 2}, step=step)
            runs[f"train-{i}"] = run.info.run_id
    with mlflow.start_run(run_name="sweep-parent") as parent:
        mlflow.log_param("sweep", "grid")
        for j in range(2):
            with mlflow.start_run(run_name=f"sweep-child-{j}", nested=True) as child:
                mlflow.log_param("lr", 0.05 * (j + 1))
                mlflow.log_metric("loss", 0.3 + j * 0.1)
                runs[f"sweep-child-{j}"] = child.info.run_id
        runs["sweep-parent"] = parent.info.run_id

    with mlflow.start_run(run_name="artifacts") as run:
        import numpy as np
        import pandas as pd

        mlflow.log_param("kind", "artifacts")
        mlflow.log_metric("loss", 0.5)
        dataset = mlflow.data.from_pandas(
            pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]}), source="s3://bucket/train.csv", name="train-set"
        )
        mlflow.log_input(dataset, context="training")
        mlflow.log_text("hello from keel\nsecond line\n", "notes.txt")
        mlflow.log_text("model:\n  layers: 4\n  lr: 0.01\n", "config/cfg.yaml")
        mlflow.log_dict({"precision": 0.91, "recall": 0.87, "labels": ["a", "b"]}, "metrics/m.json")
        mlflow.log_text("epoch,loss,accuracy\n1,0.9,0.5\n2,0.5,0.7\n3,0.3,0.85\n", "table.csv")
        image = np.zeros((32, 48, 3), dtype=np.uint8)
        image[:, :24] = [220, 40, 40]
        image[:, 24:] = [40, 90, 220]
        mlflow.log_image(image, "img.png")

        class Echo(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input):
                return model_input

        model_info = mlflow.pyfunc.log_model(name="model", python_model=Echo())
        runs["artifacts"] = run.info.run_id
    return {"experiment_id": exp_id, "runs": runs, "model_uri": model_info.model_uri, "model_id": model_info.model_id}


def seed_long_metric(exp_id: str) -> str:
    """One run with a 1,000,000-point metric, logged 1,000 points per batch."""
    run = client.create_run(exp_id, run_name="long-history")
    base = int(time.time() * 1000) - LONG_POINTS
    batch = 1000

    def send(start: int) -> None:
        points = [
            Metric("loss", 2.0 / (1 + step / 5000) + 0.05 * ((step * 7919) % 101) / 101, base + step, step)
            for step in range(start, min(start + batch, LONG_POINTS))
        ]
        client.log_batch(run.info.run_id, metrics=points)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(0, LONG_POINTS, batch)))
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def seed_big() -> dict:
    """Experiment "big": 10,000 runs with 3 params and 3 metrics each."""
    exp_id = client.create_experiment("big")

    def one(i: int) -> None:
        run = client.create_run(exp_id, run_name=f"run-{i:05d}", start_time=1_700_000_000_000 + i * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(f"m{k}", rng.random(), 1_700_000_000_000, 0) for k in range(1, 4)],
            params=[Param("p1", str(i % 10)), Param("p2", f"v{i % 3}"), Param("p3", str(i))],
            tags=[RunTag("group", f"g{i % 5}")],
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(BIG_RUNS)))
    return {"experiment_id": exp_id, "runs": BIG_RUNS}


def seed_registry(demo: dict) -> dict:
    name = "demo-model"
    client.create_registered_model(name, description="The UI test model", tags={"owner": "ml-team"})
    v1 = mlflow.register_model(demo["model_uri"], name)
    v2 = mlflow.register_model(demo["model_uri"], name, tags={"candidate": "yes"})
    client.set_registered_model_alias(name, "champion", v2.version)
    client.transition_model_version_stage(name, v1.version, "Production")
    prompt = "qa-prompt"
    mlflow.genai.register_prompt(prompt, "Answer the question: {{question}}\nBe brief.", commit_message="first")
    mlflow.genai.register_prompt(
        prompt, "Answer the question: {{question}}\nBe brief and cite sources.\nUse English.", commit_message="second"
    )
    mlflow.genai.set_prompt_alias(prompt, "production", 2)
    return {"model": name, "versions": [v1.version, v2.version], "prompt": prompt}


def seed_traces(exp_id: str) -> dict:
    mlflow.set_experiment(experiment_id=exp_id)

    @mlflow.trace(span_type="CHAT_MODEL", name="chat")
    def chat(messages):
        return {"choices": [{"message": {"role": "assistant", "content": "Paris is the capital of France."}}]}

    @mlflow.trace(name="retrieve", span_type="RETRIEVER")
    def retrieve(q):
        return [{"page_content": "France's capital is Paris.", "metadata": {"doc": 1}}]

    @mlflow.trace(name="answer")
    def answer(question):
        retrieve(question)
        return chat(
            messages=[
                {"role": "system", "content": "You are a geography tutor."},
                {"role": "user", "content": question},
            ]
        )

    answer("What is the capital of France?")
    chat_trace = mlflow.get_last_active_trace_id()

    @mlflow.trace(name="add")
    def add(a, b):
        return a + b

    add(1, 2)
    add(3, 4)
    if hasattr(mlflow, "flush_trace_async_logging"):
        mlflow.flush_trace_async_logging()
    mlflow.log_feedback(trace_id=chat_trace, name="correct", value=True, rationale="Paris is right")
    return {"chat_trace": chat_trace, "huge_trace": seed_huge_trace(exp_id)}


def seed_huge_trace(exp_id: str) -> str:
    """One trace of 30,000 spans (a root, 300 steps of 99 children) sent over OTLP/protobuf."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

    trace_id = os.urandom(16)
    start = time.time_ns() - 60 * 10**9
    spans = []
    root = os.urandom(8)

    def span(span_id: bytes, parent: bytes | None, name: str, begin: int, end: int, kind: str) -> Span:
        s = Span(trace_id=trace_id, span_id=span_id, name=name, start_time_unix_nano=begin, end_time_unix_nano=end)
        if parent:
            s.parent_span_id = parent
        s.attributes.append(KeyValue(key="mlflow.spanType", value=AnyValue(string_value=json.dumps(kind))))
        s.attributes.append(KeyValue(key="mlflow.spanInputs", value=AnyValue(string_value=json.dumps({"name": name}))))
        s.status.code = 1
        return s

    spans.append(span(root, None, "pipeline", start, start + 50 * 10**9, "CHAIN"))
    steps = (HUGE_SPANS - 1) // 100
    for i in range(steps):
        step_id = os.urandom(8)
        begin = start + i * 10**8
        spans.append(span(step_id, root, f"step-{i}", begin, begin + 9 * 10**7, "AGENT"))
        for j in range(99):
            spans.append(span(os.urandom(8), step_id, f"tool-{i}-{j}", begin + j * 10**5, begin + j * 10**5 + 5 * 10**4, "TOOL"))
    while len(spans) < HUGE_SPANS:
        spans.append(span(os.urandom(8), root, f"tail-{len(spans)}", start, start + 1000, "UNKNOWN"))

    url = URI.rstrip("/") + "/v1/traces"
    for offset in range(0, len(spans), 5000):
        body = ExportTraceServiceRequest(
            resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans[offset : offset + 5000])])]
        ).SerializeToString()
        response = requests.post(
            url,
            data=body,
            headers={"Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": exp_id},
            timeout=120,
        )
        response.raise_for_status()
    return "tr-" + trace_id.hex()


def main() -> None:
    # The client prints "View run at ..." lines on stdout; stdout carries only the JSON result.
    with contextlib.redirect_stdout(sys.stderr):
        result = seed_all()
    print(json.dumps(result))


def seed_all() -> dict:
    began = time.time()
    demo = seed_demo()
    log(f"demo experiment in {time.time() - began:.1f}s")
    demo["long_run"] = seed_long_metric(demo["experiment_id"])
    log(f"{LONG_POINTS} metric points in {time.time() - began:.1f}s")
    big = seed_big()
    log(f"{BIG_RUNS} runs in {time.time() - began:.1f}s")
    registry = seed_registry(demo)
    traces = seed_traces(demo["experiment_id"])
    log(f"registry and traces in {time.time() - began:.1f}s")
    return {"demo": demo, "big": big, "registry": registry, "traces": traces, "small": SMALL}


if __name__ == "__main__":
    main()
