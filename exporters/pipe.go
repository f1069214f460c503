package exporters

import (
	"hash"
	"io"
	"sync"
)

// asyncWriter moves hashing and uploading off the encoder's goroutine: Write
// copies the encoder's bytes into a chunk and hands it to a goroutine that
// feeds the hash and the destination, so Parquet encoding and the upload
// (and SHA-256) run on two cores at once. At most depth chunks are in
// flight, so memory stays bounded whatever the shard size.
type asyncWriter struct {
	dst   io.Writer
	hash  hash.Hash
	n     int64
	ch    chan []byte
	free  chan []byte
	done  chan struct{}
	mu    sync.Mutex
	err   error
	close sync.Once
}

func newAsyncWriter(dst io.Writer, h hash.Hash, depth int) *asyncWriter {
	w := &asyncWriter{dst: dst, hash: h, ch: make(chan []byte, depth), free: make(chan []byte, depth+1), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *asyncWriter) run() {
	defer close(w.done)
	for b := range w.ch {
		if w.error() == nil {
			w.hash.Write(b)
			if _, err := w.dst.Write(b); err != nil {
				w.setError(err)
			}
		}
		select {
		case w.free <- b[:0]:
		default:
		}
	}
}

func (w *asyncWriter) error() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *asyncWriter) setError(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// Write queues a copy of p. It returns the first error of an earlier write.
func (w *asyncWriter) Write(p []byte) (int, error) {
	if err := w.error(); err != nil {
		return 0, err
	}
	var b []byte
	select {
	case b = <-w.free:
	default:
	}
	b = append(b, p...)
	w.ch <- b
	w.n += int64(len(p))
	return len(p), nil
}

// Wait flushes every queued chunk and returns the first write error. It is
// safe to call more than once.
func (w *asyncWriter) Wait() error {
	w.close.Do(func() { close(w.ch) })
	<-w.done
	return w.error()
}
