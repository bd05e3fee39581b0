package imaplib2

import "sync"

// callbackRunner runs OnDone callbacks and Options.Unsolicited one at a
// time, in the order they were queued, on a goroutine of its own that it starts with the first
// callback and that exits once the connection has ended and the queue is
// empty.
type callbackRunner struct {
	debug *debugLog

	mu       sync.Mutex
	queue    []callback
	wake     chan struct{}
	running  bool // the goroutine is running
	stopping bool // the connection has ended
}

func newCallbackRunner(debug *debugLog) *callbackRunner {
	return &callbackRunner{debug: debug, wake: make(chan struct{}, 1)}
}

// A callback is an OnDone function and the completed command it is for,
// or an Unsolicited function and the response it is for.
type callback struct {
	fn func(Result, error)
	c  *Command

	unsolicited func(Untagged)
	response    Untagged
}

// run queues cb; after the connection has ended and the queue has
// drained, it calls cb at once instead.
func (r *callbackRunner) run(cb callback) {
	r.mu.Lock()
	if r.stopping && !r.running {
		r.mu.Unlock()
		r.call(cb)
		return
	}
	r.queue = append(r.queue, cb)
	if !r.running {
		r.running = true
		go r.loop()
	}
	r.mu.Unlock()
	r.signal()
}

// stop lets the goroutine exit once the queue is empty.
func (r *callbackRunner) stop() {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	r.signal()
}

func (r *callbackRunner) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *callbackRunner) loop() {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			if r.stopping {
				r.running = false
				r.mu.Unlock()
				return
			}
			r.mu.Unlock()
			<-r.wake
			continue
		}
		cb := r.queue[0]
		r.queue[0] = callback{}
		r.queue = r.queue[1:]
		r.mu.Unlock()
		r.call(cb)
	}
}

// call runs one callback.
func (r *callbackRunner) call(cb callback) {
	if cb.unsolicited != nil {
		r.protect(func() { cb.unsolicited(cb.response) })
		return
	}
	r.protect(func() { cb.fn(cb.c.res, cb.c.resErr) })
}

// protect runs a function of the caller's, recovering a panic.
func (r *callbackRunner) protect(fn func()) {
	defer func() {
		if p := recover(); p != nil {
			r.debug.event(debugState, "", "callback panicked: %v", p)
		}
	}()
	fn()
}
