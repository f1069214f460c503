// Package teacher talks to teacher models over OpenAI-compatible HTTP APIs:
// a [Client] is an inference.Reasoner (the thinker and the critic of the
// TwiG loop, or the GPT-4o teacher of the paper's TwiG-50K route) and an
// inference.Viewer (the VLM judge), and a [Drawer] an inference.Drawer
// (the teacher-image route's image model).
// They are built on github.com/sashabaranov/go-openai with the base URL
// overridden, so that OpenAI, vLLM, SGLang, Ollama, Gemini's
// OpenAI-compatible endpoint and twig's own worker all serve.
//
// # Requests
//
// Think, Critique and View send one chat completion: a user message whose
// content parts are the rendered template (req.Instruction) and, when
// req.Canvas (req.Image) is set, the image as a data:image/png;base64
// URL; with temperature, max_tokens and seed from the request. A critique
// or a judge call whose earlier answers could not be parsed
// (req.Unparsed) becomes one correction conversation: the original
// message, the last unparsed answer as the assistant's, and
// [FormatReminder] ([ViewFormatReminder] for the judge). The limiter
// estimates the cost of exactly that conversation. The answer's text is returned
// as is: parsing it is the engine's job (inference.ParseCritique). An
// answer with no choices or no text is an [*EmptyReplyError].
//
// # Wrappers
//
// The clients make exactly one HTTP request per call. Every call, of any
// role, is a [Call] to one interface, [Completer]: its op (think,
// critique, judge, draw) and its request. Retries, rate limits and
// spending caps are wrappers of that interface, composed by the caller,
// outermost first:
//
//	budget  -> NewBudgetCompleter: fail fast with ErrBudgetExhausted once spent
//	retry   -> NewRetryCompleter: 408/429/5xx/timeouts/resets, backoff with full jitter
//	limit   -> NewLimitCompleter: requests, input and output tokens per minute, concurrency
//	client  -> New (or NewDrawer)
//
// The limiter must be inside the retries, so that every attempt waits for
// it; [Wrap] composes them in this order. [AsReasoner], [AsViewer] and
// [AsDrawer] turn the result into the interface the engine or a judge
// calls. NewRetryReasoner, NewLimitDrawer, NewBudgetViewer and the other
// six do both at once, and also wrap reasoners, viewers and drawers of
// other packages.
//
// # Retries
//
// [RetryCompleter] retries what [Transient] calls transient: the statuses
// 408, 429, 500, 502, 503 and 504, the client's own timeout, and refused,
// reset or cut connections; never another 4xx, an exhausted budget, an
// empty reply or the caller's cancelled context. It waits what the
// server asks (retry-after-ms, Retry-After in seconds or as an HTTP date,
// and on 429 OpenAI's x-ratelimit-reset-requests/-tokens durations such
// as "6m0s") or else a full-jitter exponential backoff, up to
// [RetryPolicy.MaxAttempts] attempts and [RetryPolicy.MaxWait] of waiting
// in all. The policy, the backoff and the header parsing are
// internal/retry's, shared with the GPU worker pool.
//
// # Limits
//
// A [Limiter] holds one endpoint's quotas for one model ([Limits]) and is
// shared by every client calling them ([Limiters], [SharedLimiter]). Each
// quota is a sliding window (a minute by default): a request is admitted
// only when the window's total plus its own stays within the limit, and
// callers wait, in arrival order and honouring their context, rather
// than fail. A request counts from its admission until a window (plus
// [Limits.Margin]) after it was written to the server, so the limits hold
// on the server's clock even for requests that waited for a connection.
// Input tokens are estimated before sending ([Limits.Cost]): len(text)/4
// per text, rounded up, 8 per message, and [Limits.ImageTokens] (default
// 800) per image. Output tokens reserve the request's max_tokens. When the answer arrives, its reported usage
// replaces both, which gives back the unused part of the reservation.
//
// # Budgets
//
// A [Budget] caps the tokens and/or dollars ([Prices] per million input
// and output tokens, and per image) of the calls that share it. Once
// reached, calls fail at once with an error wrapping [ErrBudgetExhausted],
// which the pipeline takes as the signal to start no new trajectory.
// Calls already in flight finish and are counted.
//
// # Secrets
//
// [Config.APIKey] is filled in by the caller from the environment where
// the client is built; it is never serialised (json:"-"), printed
// (Config's String, GoString and LogValue hide it) or included in an
// error: any error text that contains it, such as a server echoing it
// back, is redacted.
package teacher
