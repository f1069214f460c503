package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/twigdata/twig/inference"
)

// Defaults of Options.
const (
	DefaultMaxBatch     = 64
	DefaultMaxWait      = 20 * time.Millisecond
	DefaultQueue        = 1024
	DefaultMaxBodyBytes = 64 << 20
)

// Options configure a Server. Zero fields take the defaults.
type Options struct {
	// MaxBatch is the largest number of generate calls in one batch.
	MaxBatch int
	// MaxWait is how long a batch waits, after its first call arrived,
	// for more calls before it runs. A negative value does not wait: a
	// batch is what is queued when the backend is free.
	MaxWait time.Duration
	// Queue is the number of generate calls that may wait for a batch;
	// beyond it calls are answered 503 with Retry-After.
	Queue int
	// MaxBodyBytes limits request bodies; larger ones are answered 413.
	MaxBodyBytes int64
}

func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return o
}

// Server serves a Backend over the worker protocol. It is an http.Handler;
// Close stops its batcher.
type Server struct {
	backend  Backend
	reasoner inference.Reasoner // nil when the backend does not reason
	opts     Options
	info     Info
	batcher  *batcher
	mux      *http.ServeMux
}

var _ http.Handler = (*Server)(nil)

// NewServer returns a server for b and starts its batcher. When b also
// implements inference.Reasoner the server answers chat completions.
func NewServer(b Backend, opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		backend: b, opts: opts, info: b.Info(),
		batcher: newBatcher(b, opts.MaxBatch, opts.MaxWait, opts.Queue),
		mux:     http.NewServeMux(),
	}
	s.reasoner, _ = b.(inference.Reasoner)
	_, viewer := b.(inference.Viewer)
	s.info.Chat = s.reasoner != nil || viewer
	s.info.MaxBatch = opts.MaxBatch
	s.info.MaxWaitMS = int(max(opts.MaxWait, 0) / time.Millisecond)
	s.handle(PathGenerate, http.MethodPost, s.generate)
	s.handle(PathDecode, http.MethodPost, s.decode)
	s.handle(PathEncode, http.MethodPost, s.encode)
	s.handle(PathChat, http.MethodPost, s.chat)
	s.handle(PathInfo, http.MethodGet, s.getInfo)
	s.handle(PathStats, http.MethodGet, s.getStats)
	if s.info.Chat {
		s.handle(PathModels, http.MethodGet, s.getModels)
	}
	s.handle(PathHealth, http.MethodGet, s.health)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, ErrorInvalidRequest, fmt.Sprintf("no endpoint %s", r.URL.Path))
	})
	return s
}

// handle registers h for path, answering other methods with 405.
func (s *Server) handle(path, method string, h http.HandlerFunc) {
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, ErrorInvalidRequest, fmt.Sprintf("%s wants %s, not %s", path, method, r.Method))
			return
		}
		h(w, r)
	})
}

// ServeHTTP serves the protocol's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Info returns what GET /v1/info answers: the backend's Info with the
// server's MaxBatch and MaxWaitMS.
func (s *Server) Info() Info { return s.info }

// Stats returns the batcher's counters.
func (s *Server) Stats() Stats { return s.batcher.snapshot() }

// Close stops the batcher: queued generate calls and calls that arrive
// later are answered 503, and a running batch is cancelled. Shut the
// http.Server down first to let calls in flight finish. Close always
// returns nil.
func (s *Server) Close() error {
	s.batcher.close()
	return nil
}

func (s *Server) generate(w http.ResponseWriter, r *http.Request) {
	var req GenerateRequest
	if !s.read(w, r, &req) {
		return
	}
	resp, err := s.batcher.do(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request) {
	var req DecodeRequest
	if !s.read(w, r, &req) {
		return
	}
	png, err := s.backend.Decode(r.Context(), req.Tokens)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, DecodeResponse{PNG: png, Model: s.info.ModelID()})
}

func (s *Server) encode(w http.ResponseWriter, r *http.Request) {
	var req EncodeRequest
	if !s.read(w, r, &req) {
		return
	}
	tokens, err := s.backend.Encode(r.Context(), req.PNG)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, EncodeResponse{Tokens: tokens, Model: s.info.ModelID()})
}

func (s *Server) getInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.info)
}

// getModels lists the served model. The simulated chat answers any model
// name; clients may use this one.
func (s *Server) getModels(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, ModelList{Object: "list", Data: []ModelCard{{ID: s.info.Model, Object: "model", OwnedBy: "twig"}}})
}

func (s *Server) getStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if s.batcher.isClosed() {
		s.fail(w, r, errClosed)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// read decodes a JSON request body into v, or answers 413 or 400 and
// reports false.
func (s *Server) read(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, ErrorInvalidRequest, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, ErrorInvalidRequest, fmt.Sprintf("read request body: %v", err))
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, ErrorInvalidRequest, fmt.Sprintf("bad JSON: %v", err))
		return false
	}
	return true
}

// fail answers err with the protocol's status for it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *RequestError
	switch {
	case errors.As(err, &re):
		writeError(w, http.StatusBadRequest, ErrorInvalidRequest, err.Error())
	case errors.Is(err, errQueueFull), errors.Is(err, errClosed):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, ErrorOverloaded, err.Error())
	case r.Context().Err() != nil:
		// The caller has gone; the answer is for the log only.
		writeError(w, http.StatusServiceUnavailable, ErrorOverloaded, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, ErrorServer, err.Error())
	}
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	var body ErrorBody
	body.Error.Message, body.Error.Type = msg, typ
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"encode answer","type":"server_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
