package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/remote"
	"github.com/twigdata/twig/inference/worker"
)

// exampleWorker is a minimal worker: it serves /healthz and /v1/info, and
// paints every token 1 on /v1/generate.
func exampleWorker() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+worker.PathHealth, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status": "ok"}`)
	})
	mux.HandleFunc("GET "+worker.PathInfo, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(worker.Info{Model: "deepseek-ai/Janus-Pro-7B", Revision: "main",
			ImageSize: 384, PatchSize: 16, CodebookSize: 16384, MaxBatch: 64, MaxWaitMS: 20})
	})
	mux.HandleFunc("POST "+worker.PathGenerate, func(w http.ResponseWriter, r *http.Request) {
		var req worker.GenerateRequest
		json.NewDecoder(r.Body).Decode(&req)
		if len(req.Prior)+req.N > 576 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error": {"message": "n=%d exceeds the grid", "type": "invalid_request"}}`, req.N)
			return
		}
		tokens := make([]int32, req.N)
		for i := range tokens {
			tokens[i] = 1
		}
		json.NewEncoder(w).Encode(worker.GenerateResponse{Tokens: tokens, Model: "deepseek-ai/Janus-Pro-7B@main",
			Usage: worker.Usage{InputTokens: 12, OutputTokens: int32(req.N)}})
	})
	return mux
}

func ExamplePool() {
	a, b := httptest.NewServer(exampleWorker()), httptest.NewServer(exampleWorker())
	defer a.Close()
	defer b.Close()

	pool, err := remote.NewPool([]string{a.URL, b.URL}, remote.DefaultPoolOptions())
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()

	// Reject a pool whose workers serve different models before the run.
	info, err := pool.Info(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Model, info.ImageSize/info.PatchSize)

	var painter inference.Painter = pool
	resp, err := painter.Generate(ctx, inference.GenerateRequest{
		Prefix: "A red apple sits on a table.", N: 192, CFG: 5, Temperature: 1, TopP: 1, Seed: 1234567,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(resp.Tokens), resp.Model, resp.Usage.OutputTokens)

	// A wrong request fails at once, with the worker's message.
	_, err = painter.Generate(ctx, inference.GenerateRequest{N: 999})
	var se *remote.StatusError
	if errors.As(err, &se) {
		fmt.Println(se.Code, se.Message, remote.IsTransient(err))
	}
	// Output:
	// deepseek-ai/Janus-Pro-7B 24
	// 192 deepseek-ai/Janus-Pro-7B@main 192
	// 400 n=999 exceeds the grid false
}
