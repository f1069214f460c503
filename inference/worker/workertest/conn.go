package workertest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/twigdata/twig/inference/worker"
)

// rawRequest is a request of an exchange on one connection.
type rawRequest struct {
	method, path string
	body         []byte // nil: none
}

// exchangeTimeout bounds one exchange on a connection.
const exchangeTimeout = 30 * time.Second

// errClosedAsAnnounced ends an exchange whose server answered with
// "Connection: close": the following requests were not sent.
var errClosedAsAnnounced = errors.New(`the server announced "Connection: close"`)

// exchange sends the requests one after the other on one new connection,
// as a keep-alive client does, and returns the answers. It stops at the
// first request that gets no answer, with the error, or at an answer that
// announces "Connection: close", with errClosedAsAnnounced. Each body is
// written while the answer is read, so a server may answer before it has
// read the body (a 413).
//
// The suite's http.Client cannot tell these cases apart: it retries some
// requests on a fresh connection by itself.
func (s *suite) exchange(reqs ...rawRequest) ([]answer, error) {
	u, err := url.Parse(s.h.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("exchange: %s is not an http URL", s.h.URL)
	}
	conn, err := net.DialTimeout("tcp", u.Host, exchangeTimeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(exchangeTimeout))
	br := bufio.NewReader(conn)
	var out []answer
	for i, r := range reqs {
		var body io.Reader
		if r.body != nil {
			body = bytes.NewReader(r.body)
		}
		req, err := http.NewRequest(r.method, s.h.URL+r.path, body)
		if err != nil {
			return out, err
		}
		if r.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		written := make(chan error, 1)
		go func() { written <- req.Write(conn) }()
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			werr := <-written
			return out, fmt.Errorf("request %d of the connection, %s %s: no answer: %v (writing the request: %v)", i+1, r.method, r.path, err, werr)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return out, fmt.Errorf("request %d of the connection, %s %s: read the answer: %v", i+1, r.method, r.path, err)
		}
		out = append(out, answer{status: resp.StatusCode, header: resp.Header, body: b})
		if i+1 == len(reqs) {
			break
		}
		werr := <-written
		switch {
		case resp.Close:
			return out, errClosedAsAnnounced
		case werr != nil:
			return out, fmt.Errorf("request %d of the connection, %s %s: answered %d, but the connection broke while its body was sent (%v), without \"Connection: close\"", i+1, r.method, r.path, resp.StatusCode, werr)
		}
	}
	return out, nil
}

// healthRequest is the request that follows another on a connection, to
// check that the connection still serves.
var healthRequest = rawRequest{method: http.MethodGet, path: worker.PathHealth}

// checkThenHealthy sends req and then GET /healthz on the same connection.
// It checks the first answer with check, and that the connection then
// serves the next request, unless the server announced that it closes
// it. An HTTP/1.1 server must read (or drain) the body of a request it
// refuses: left in the connection, it would be read as the next request.
func (s *suite) checkThenHealthy(t testing.TB, where string, req rawRequest, check func(answer)) {
	t.Helper()
	answers, err := s.exchange(req, healthRequest)
	if len(answers) == 0 {
		t.Errorf("%s: %v", where, err)
		return
	}
	check(answers[0])
	switch {
	case errors.Is(err, errClosedAsAnnounced):
	case err != nil:
		t.Errorf("%s: the connection is unusable afterwards: %v", where, err)
	case answers[1].status != http.StatusOK:
		t.Errorf("%s: the next request on the connection, GET %s, = %s, want 200 (was the refused request's body left unread?)", where, worker.PathHealth, answers[1])
	}
}
