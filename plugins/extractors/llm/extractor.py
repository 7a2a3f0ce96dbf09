"""The LLM extractor: any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama) via ``openai``.

One request per report, temperature 0, strict ``json_schema`` structured output with a state and
an evidence quote per finding (:mod:`.llm_prompt`); the answer is validated and each quote located
in the report (:mod:`.llm_answers`). The ``openai`` client does the retrying: ``max_retries``
with exponential backoff (0.5 s doubling, capped at 8 s, honouring ``Retry-After``) on 408, 409,
429, 5xx, connection errors and timeouts (``timeout_s`` per attempt).

The API key is read only from the environment variable *named* by ``api_key_env`` — never from a
file, a flag or the store — and is never written anywhere by radcurate.

Used through the extraction job (``radcurate extract --extractor llm``), which adds the answer
cache, bounded concurrency, cost records and the Batch API path (this class implements
:class:`~radcurate.engine.extraction.remote.RemoteExtractor` for it). ``extract`` alone asks once
with no cache, for one-off use and the plugin contract.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.errors import ExtractionError, PluginError
from radcurate.engine.extraction.remote import EndpointUnusable, RequestFailed, public_url
from radcurate.engine.store.llm_cache import LLMAnswer
from radcurate.engine.vocabulary import Vocabulary
from radcurate.plugins.extractors.llm import batch as llm_batch
from radcurate.plugins.extractors.llm import prompt as llm_prompt
from radcurate.plugins.extractors.llm.answers import labels_from_answer


def _openai() -> Any:
    try:
        import openai
    except ImportError:
        raise PluginError("the LLM extractor needs the openai package: pip install 'radcurate[llm]'") from None
    return openai


class LLMExtractor:
    """Report → labels through an OpenAI-compatible chat-completions endpoint.

    Parameters
    ----------
    model, base_url
        The model as the endpoint names it; the endpoint (empty: the openai client's default).
    api_key_env
        Name of the environment variable holding the key.
    price_input_per_mtok, price_output_per_mtok
        USD per million tokens, for cost records and ``--dry-run``.
    concurrency
        Requests in flight at once (the extraction job runs this many workers).
    timeout_s, max_retries
        Per-attempt timeout and the client's retry budget.
    batch_price_factor
        Batch API answers cost this fraction of the online price (OpenAI: half).
    batch_poll_s
        Seconds between Batch API status polls.
    conventions
        Label conventions the prompt states, ``clinical`` (default) or ``ctrate`` (as the rules
        extractor's); they change the prompt hash, and a non-default one names the label source.
    """

    name = "llm"
    version = "1.0.0"

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        base_url: str = "",
        api_key_env: str = "OPENAI_API_KEY",
        price_input_per_mtok: float = 0.15,
        price_output_per_mtok: float = 0.60,
        concurrency: int = 32,
        timeout_s: float = 60.0,
        max_retries: int = 5,
        batch_price_factor: float = 0.5,
        batch_poll_s: float = 30.0,
        conventions: str = llm_prompt.DEFAULT_CONVENTIONS,
    ):
        if conventions not in llm_prompt.CONVENTIONS:
            raise PluginError(f"unknown label conventions {conventions!r}; expected one of: clinical, ctrate")
        self.conventions = conventions
        if not model:
            raise PluginError("the LLM extractor needs a model name (llm.model or --model)")
        if concurrency < 1 or max_retries < 0 or timeout_s <= 0:
            raise PluginError("concurrency must be >= 1, max_retries >= 0 and timeout_s > 0")
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.price_in = float(price_input_per_mtok)
        self.price_out = float(price_output_per_mtok)
        self.concurrency = int(concurrency)
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.batch_price_factor = float(batch_price_factor)
        self.batch_poll_s = float(batch_poll_s)
        self._client: Any = None
        self._hashes: dict[tuple[str, ...], str] = {}

    # ------------------------------------------------------------------ identity
    @property
    def endpoint(self) -> str:
        """Where the model runs, as stored and printed: the base URL without credentials or a
        trailing slash (``""`` for the client's default endpoint, api.openai.com)."""
        return public_url(self.base_url).rstrip("/")

    @property
    def source_name(self) -> str:
        """Default label-source name: one source per model and endpoint, so models can be compared
        and the same model name served by two servers (say vLLM here, Ollama there) never merges."""
        suffix = "" if self.conventions == llm_prompt.DEFAULT_CONVENTIONS else f":{self.conventions}"
        if not self.endpoint:
            return f"llm:{self.model}{suffix}"
        parts = urlsplit(self.endpoint)
        path = parts.path.rstrip("/")
        where = parts.netloc + ("" if path in ("", "/v1") else path)  # /v1 is every server's API root
        return f"llm:{self.model}@{where}{suffix}"

    def details(self, vocabulary: Vocabulary) -> dict[str, Any]:
        """What the label source records about this extractor (no secrets: the key's *name* only)."""
        return {
            "model": self.model,
            "base_url": public_url(self.base_url),
            "prompt_hash": self.prompt_hash(vocabulary),
            "api_key_env": self.api_key_env,
            "temperature": llm_prompt.TEMPERATURE,
            "conventions": self.conventions,
        }

    def prompt_hash(self, vocabulary: Vocabulary) -> str:
        found = self._hashes.get(vocabulary.findings)
        if found is None:
            found = self._hashes[vocabulary.findings] = llm_prompt.prompt_hash(vocabulary, self.conventions)
        return found

    def cache_key(self, report_sha256: str, vocabulary: Vocabulary) -> str:
        return llm_prompt.cache_key(report_sha256, self.model, self.prompt_hash(vocabulary), self.endpoint)

    def cost(self, tokens_in: int, tokens_out: int, *, batch: bool = False) -> float:
        usd = (tokens_in * self.price_in + tokens_out * self.price_out) / 1e6
        return usd * self.batch_price_factor if batch else usd

    def estimate(self, reports: Sequence[str], vocabulary: Vocabulary) -> tuple[int, int, float]:
        """(input tokens, output tokens, USD) for asking ``reports``, by the chars/4 heuristic."""
        fixed = len(llm_prompt.instructions(vocabulary, self.conventions)) + len(
            str(llm_prompt.response_format(vocabulary))
        )
        tokens_in = sum(llm_prompt.estimate_tokens(fixed + len(text)) for text in reports)
        tokens_out = llm_prompt.estimate_output_tokens(vocabulary) * len(reports)
        return tokens_in, tokens_out, self.cost(tokens_in, tokens_out)

    # ------------------------------------------------------------------ the client
    def _api_key(self) -> str:
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise EndpointUnusable(
                f"set the environment variable {self.api_key_env} to your API key "
                "(its name is the setting llm.api_key_env)"
            )
        return key

    def _options(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key(),
            "base_url": self.base_url or None,
            "timeout": self.timeout_s,
            "max_retries": self.max_retries,
        }

    def _async_client(self) -> Any:
        if self._client is None:
            self._client = _openai().AsyncOpenAI(**self._options())
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    def _scrub(self, text: str) -> str:
        key = os.environ.get(self.api_key_env)
        return text.replace(key, "***") if key else text

    def _failure(self, exc: Exception) -> ExtractionError:
        """Map an openai exception to: stop the run, or quarantine this report."""
        openai = _openai()
        message = self._scrub(f"{type(exc).__name__}: {exc}")[:300]
        where = public_url(self.base_url) or "the default endpoint"
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return EndpointUnusable(f"{where} refused the API key from {self.api_key_env} ({message})")
        if isinstance(exc, openai.NotFoundError):
            return EndpointUnusable(
                f"{where} does not serve model {self.model!r} or is not an OpenAI-compatible endpoint ({message})"
            )
        return RequestFailed(message)

    def _answer(self, completion: Any, prompt_chars: int, *, batch: bool = False) -> LLMAnswer:
        """An answer from a chat completion, given as the client's object or as a plain dict (Batch)."""
        data = completion if isinstance(completion, dict) else completion.model_dump()
        choices = data.get("choices") or []
        message = (choices[0] or {}).get("message") or {} if choices else {}
        content, refusal = message.get("content"), message.get("refusal")
        usage = data.get("usage") or {}
        if usage.get("prompt_tokens") is not None:
            t_in, t_out = int(usage["prompt_tokens"]), int(usage.get("completion_tokens") or 0)
        else:  # the endpoint did not report usage: estimate, so cost is not silently zero
            t_in = llm_prompt.estimate_tokens(prompt_chars)
            t_out = llm_prompt.estimate_tokens(len(content or refusal or ""))
        return LLMAnswer(content, refusal, t_in, t_out, self.cost(t_in, t_out, batch=batch))

    # ------------------------------------------------------------------ asking
    async def ask(self, report: str, vocabulary: Vocabulary) -> LLMAnswer:
        """One request (with the client's retries); raises RequestFailed or EndpointUnusable."""
        body = llm_prompt.request_body(self.model, report, vocabulary, self.conventions)
        client = self._async_client()
        openai = _openai()
        try:
            completion = await client.chat.completions.create(**body)
        except openai.APIError as exc:
            raise self._failure(exc) from None
        return self._answer(completion, sum(len(m["content"]) for m in body["messages"]))

    def labels_from_answer(self, report: str, answer: LLMAnswer, vocabulary: Vocabulary) -> list[SilverLabel]:
        return labels_from_answer(report, answer.content, answer.refusal, vocabulary)

    def extract(self, text: str, vocabulary: Vocabulary) -> list[SilverLabel]:
        """Ask once, synchronously, without the cache; raises ExtractionError on a malformed answer."""
        openai = _openai()
        body = llm_prompt.request_body(self.model, text, vocabulary, self.conventions)
        with openai.OpenAI(**self._options()) as client:
            try:
                completion = client.chat.completions.create(**body)
            except openai.APIError as exc:
                raise self._failure(exc) from None
        answer = self._answer(completion, sum(len(m["content"]) for m in body["messages"]))
        return self.labels_from_answer(text, answer, vocabulary)

    # ------------------------------------------------------------------ Batch API
    async def submit_batch(
        self, requests: Sequence[tuple[str, str]], vocabulary: Vocabulary, folder: Path, stem: str
    ) -> list[str]:
        """Write, upload and create batches for ``(cache key, report)`` pairs; returns batch ids."""
        files = llm_batch.write_requests(
            folder,
            stem,
            ((key, llm_prompt.request_body(self.model, text, vocabulary, self.conventions)) for key, text in requests),
        )
        client = self._async_client()
        openai = _openai()
        try:
            return [await llm_batch.submit(client, path) for path in files]
        except openai.APIError as exc:
            raise self._failure(exc) from None

    async def batch_answers(
        self, batch_id: str, vocabulary: Vocabulary, *, should_stop: Callable[[], Awaitable[bool]]
    ) -> tuple[str, dict[str, LLMAnswer | RequestFailed]] | None:
        """Wait for a batch; ``(status, {cache key: answer or failure})``, or None if told to stop."""
        client = self._async_client()
        openai = _openai()
        try:
            batch = await llm_batch.wait(client, batch_id, poll_s=self.batch_poll_s, should_stop=should_stop)
            if batch is None:
                return None
            outcome = await llm_batch.collect(client, batch)
        except openai.APIError as exc:
            raise self._failure(exc) from None
        prompt = len(llm_prompt.instructions(vocabulary, self.conventions))
        answers: dict[str, LLMAnswer | RequestFailed] = {
            key: RequestFailed(reason) for key, reason in outcome.failures.items()
        }
        for key, body in outcome.completions.items():
            answers[key] = self._answer(body, prompt, batch=True)
        status = f"{outcome.status}: {outcome.error}" if outcome.error else outcome.status
        return status, answers
