package worker_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/twigdata/twig/inference/worker"
)

// Example serves the simulator over the worker protocol and paints the
// middle band of three with one generate call.
func Example() {
	srv := worker.NewServer(worker.NewSimBackend(worker.DefaultSimConfig()), worker.Options{})
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()

	body, _ := json.Marshal(worker.GenerateRequest{
		Prefix: "The sky is clear and blue. A red apple sits on the left of a green train.",
		Prior:  make([]int32, 192), // band 1 is still the placeholder
		N:      192, CFG: 5, Temperature: 1, TopP: 1, Seed: 1,
	})
	resp, err := http.Post(ts.URL+worker.PathGenerate, "application/json", bytes.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var gen worker.GenerateResponse
	if err := json.NewDecoder(resp.Body).Decode(&gen); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, len(gen.Tokens), gen.Model, gen.Usage)
	st := srv.Stats()
	fmt.Println(st.Batches, st.Calls)
	// Output:
	// 200 OK 192 twig-sim-painter-v1@mistake=0.2 {209 192}
	// 1 1
}
