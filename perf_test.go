//go:build perf && linux

// Performance harness (issue 5). It is not a test of behaviour: the perf
// build tag keeps it out of the default test binary, so `go test ./...`
// neither builds nor runs it, and even when built it runs only when asked
// for:
//
//	go test -tags perf -run TestPerformance -count=1 -timeout 30m -v . -args -perf
//
// Flags (after -args):
//
//	-perf                 run the harness (without it the test skips)
//	-perf.scale=1         corpus size factor: 1 = INBOX 10,000 messages (~180 MB)
//	                      + "small" 2,000 messages (~4 MB); 0.1 for a quick run
//	-perf.reps=3          repetitions; every figure is the median
//	-perf.conns=200       W4 connections per client
//	-perf.searches=200    W3 and W3p SEARCH commands
//	-perf.workloads=w1,w2,w3,w3p,w6,w5,w4
//	                      the workloads to run (always in this order)
//	-perf.out=FILE        also write the markdown report to FILE
//	-perf.cpuprofile=DIR  after the measured reps, run each of our variants
//	                      (all but W4's) -perf.profreps (5) more times under the
//	                      CPU profiler, one profile per variant (DIR/ours-<v>.pprof:
//	                      w1-fetch, w1-fetchfunc, w2, w3, w3p, w3p-plain,
//	                      w6-messages, w6-stream, w5), and once more recording
//	                      every allocation (DIR/ours-<v>.allocs*.pprof)
//	-perf.seed=20240601   corpus seed
//
// It starts the Dovecot of the tests (dovecot_test.go), writes a generated
// corpus straight into a new user's Maildir and runs seven workloads, those
// of the lab (shared/lab/README.md, "Workloads"), with this library and with
// a raw "drain" client (perfRaw below: it writes command lines itself and
// only reads bytes, skipping literals, up to the tagged completions),
// interleaved in the same run:
//
//	W1  one FETCH 1:<EXISTS> (BODY.PEEK[]) of INBOX: Fetch (holds every body)
//	    and FetchFunc (streams); wall, client CPU, peak RSS growth
//	W2  2,000 UID FETCH <uid> (BODY.PEEK[]) on "small", all issued at once and
//	    collected with OnDone; every result is checked against its message
//	W3  200 SEARCH commands, sequential, cycling through perfCriteria
//	W3p the same 200 SEARCH commands, all issued at once, then all waited for:
//	    as SEARCH RETURN (ALL) <criteria> when the server offers ESEARCH
//	    (Search pipelines only those), and as plain Search calls; every
//	    result must equal its criterion's result run alone (drain: pipelined)
//	W6  one FETCH 1:<EXISTS> (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE
//	    BODYSTRUCTURE) of INBOX, typed: Fetch + Result.Messages (holds all)
//	    and FetchFunc + ParseMessage (streams); messages, Σ RFC822.SIZE,
//	    multipart roots and messages with a named part are checked against
//	    the corpus (drain: drained only)
//	W5  the 2,000 messages of "small" read (untimed, one FETCH), mailbox
//	    perf-append deleted and created, then 2,000 APPENDs of them, all
//	    issued at once (Append; drain: pipelined with LITERAL+ {N+}, which
//	    it requires); STATUS (MESSAGES) must then be 2,000, and the mailbox
//	    is deleted
//	W4  N connections LOGIN/SELECT INBOX/IDLE; RSS per connection; one APPEND
//	    from another connection and the time until every IDLE saw it
//
// CPU is this process's user+sys time (getrusage); Dovecot runs in other
// processes, so it is the client's alone. Client and server share the
// machine's cores, so W1, W3, W3p and W6 wall times are mostly server time,
// and W5's is mostly Dovecot writing a Maildir file per message. A second
// table splits each phase's cost into user/kernel time, minor page faults,
// heap allocations and GC cycles; a third gives W4 per connection. The W4
// probe messages are expunged after each run, so every run sees the same
// INBOX. Nothing is timed against a threshold: the harness only reports.
package imaplib2

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	perfEnabled    = flag.Bool("perf", false, "run the performance harness (TestPerformance)")
	perfScale      = flag.Float64("perf.scale", 1, "corpus size factor (1: 10,000 + 2,000 messages)")
	perfReps       = flag.Int("perf.reps", 3, "repetitions (medians are reported)")
	perfConns      = flag.Int("perf.conns", 200, "W4: idle connections per client")
	perfSearches   = flag.Int("perf.searches", 200, "W3 and W3p: SEARCH commands")
	perfWorkloads  = flag.String("perf.workloads", "w1,w2,w3,w3p,w6,w5,w4", "workloads to run")
	perfOut        = flag.String("perf.out", "", "also write the markdown report to this file")
	perfCPUProfile = flag.String("perf.cpuprofile", "", "directory for CPU profiles of extra, unmeasured runs of our client")
	perfSeed       = flag.Uint64("perf.seed", 20240601, "corpus seed")
	perfProfReps   = flag.Int("perf.profreps", 5, "runs of each workload in one CPU profile")
)

const (
	perfOpTimeout  = 5 * time.Minute // deadline of one workload run
	perfIdleFor    = 5 * time.Minute // W4 IDLE timeout
	perfSetupPar   = 32              // W4 connections set up in parallel
	perfFetchParts = "(BODY.PEEK[])"
)

// perfCriteria are the W3 criteria (the lab's workloads/search-criteria.txt):
// no BODY/TEXT keys, which would only measure the server.
var perfCriteria = []string{
	`ALL`,
	`UNSEEN`,
	`FLAGGED`,
	`SEEN NOT FLAGGED`,
	`LARGER 100000`,
	`SMALLER 3000`,
	`SINCE 1-Jun-2024`,
	`BEFORE 1-Mar-2023`,
	`SINCE 1-Jan-2024 BEFORE 1-Feb-2024`,
	`FROM "alice"`,
	`SUBJECT "invoice"`,
	`TO "bench"`,
	`OR FROM "bob" FROM "carol"`,
	`HEADER "X-Mailer" "Thunderbird"`,
	`SENTSINCE 1-Oct-2024`,
	`ANSWERED`,
	`UID 1:500`,
	`1:2000 SMALLER 4000`,
	`NOT SEEN LARGER 20000`,
	`OR UNSEEN FLAGGED`,
}

// perfRun is the outcome of one run of one workload by one client.
type perfRun struct {
	wall, cpu, user, sys float64 // seconds
	faults               int64   // minor page faults (getrusage ru_minflt)
	allocs, allocBytes   int64   // heap allocations of the whole process (runtime/metrics)
	gcs                  int64   // completed GC cycles
	messages             int     // W5: STATUS MESSAGES after the run
	bytes                int64   // body (ours) or wire (drain) bytes; W5: message bytes; W6 ours: Σ RFC822.SIZE
	peakRSSKB            int64   // growth of the peak RSS over the RSS before the run
	heldHeap             int64   // W1 Fetch: live heap while the result is held
	misrouted            int     // W2, W3p
	hits                 int     // W3, W3p (ours)
	attachments          int     // W6 (ours): messages with a named part
	// W4
	conns, saw                    int
	setup, rssPerConnKB           float64
	goroutinesPerConn             float64 // goroutines added per connection
	stackKBPerConn, heapKBPerConn float64 // goroutine stacks and live heap objects per connection
	notifyP50, notifyMax, appendS float64
}

// TestPerformance is the harness; see the comment at the top of the file.
func TestPerformance(t *testing.T) {
	if !*perfEnabled {
		t.Skip("performance harness: run with go test -tags perf -run TestPerformance . -args -perf (see perf_test.go)")
	}
	if *perfReps < 1 || *perfScale <= 0 {
		t.Fatal("-perf.reps must be >= 1 and -perf.scale > 0")
	}
	d := startDovecot(t)
	user, pass := d.newUser(t)
	home := filepath.Join(d.Dir, "mail", user)

	t0 := time.Now()
	corpus, err := perfWriteCorpus(filepath.Join(home, "Maildir"), *perfScale, *perfSeed)
	if err != nil {
		t.Fatalf("writing the corpus: %v", err)
	}
	t.Logf("corpus written in %.1fs: INBOX %d messages %.1f MB, small %d messages %.1f MB",
		time.Since(t0).Seconds(), corpus.inbox.n, float64(corpus.inbox.bytes)/1e6, corpus.small.n, float64(corpus.small.bytes)/1e6)

	h := &perfHarness{t: t, d: d, user: user, pass: pass, corpus: corpus,
		addr: net.JoinHostPort(d.Host, strconv.Itoa(d.Port)), runs: map[string][]perfRun{}}
	workloads := h.workloads()
	want := map[string]bool{}
	for _, w := range strings.Split(*perfWorkloads, ",") {
		name := strings.TrimSpace(strings.ToLower(w))
		if !slices.ContainsFunc(workloads, func(w perfWorkload) bool { return w.name == name }) {
			t.Fatalf("-perf.workloads: unknown workload %q", name)
		}
		want[name] = true
	}
	t0 = time.Now()
	if err := h.prepare(workloads, want); err != nil {
		t.Fatalf("indexing and checking the corpus: %v", err)
	}
	t.Logf("Dovecot indexed and warmed the corpus in %.1fs", time.Since(t0).Seconds())

	for _, w := range workloads {
		if !want[w.name] {
			continue
		}
		for rep := 0; rep < *perfReps; rep++ {
			// Rotate the order between repetitions so that neither client
			// always runs right after the other.
			for i := range w.variants {
				v := w.variants[(i+rep)%len(w.variants)]
				perfSettle()
				r, err := v.run()
				if err != nil {
					t.Fatalf("%s rep %d: %v", v.key, rep+1, err)
				}
				if w.name == "w4" {
					if err := h.removeProbes(); err != nil {
						t.Fatalf("removing the W4 probe messages: %v", err)
					}
				}
				h.runs[v.key] = append(h.runs[v.key], r)
				t.Logf("%-20s rep %d: wall %.3fs cpu %.3fs (user %.3f sys %.3f) msgs %d bytes %d peakRSS+%dKB faults %d allocs %d (%.1f MB) GCs %d %s",
					v.key, rep+1, r.wall, r.cpu, r.user, r.sys, r.messages, r.bytes, r.peakRSSKB,
					r.faults, r.allocs, float64(r.allocBytes)/1e6, r.gcs, perfExtra(r))
			}
		}
	}

	report := h.report()
	fmt.Print("\n" + report)
	if *perfOut != "" {
		if err := os.WriteFile(*perfOut, []byte(report), 0o644); err != nil {
			t.Errorf("writing %s: %v", *perfOut, err)
		}
	}
	if *perfCPUProfile != "" {
		h.profile(*perfCPUProfile, workloads, want)
	}
}

// perfWorkload is one workload and the clients that run it.
type perfWorkload struct {
	name     string // as in -perf.workloads
	variants []perfVariant
}

// perfVariant is one client's way of running a workload: the drain client
// first, then ours. profile names our variants' CPU profiles
// (-perf.cpuprofile); it is "" for the drain client and for W4.
type perfVariant struct {
	key, profile string
	run          func() (perfRun, error)
}

// workloads lists every workload in the order they run.
func (h *perfHarness) workloads() []perfWorkload {
	w3Drain := func(pipelined bool) func() (perfRun, error) {
		return func() (perfRun, error) { return h.w3Drain(pipelined) }
	}
	w3pOurs := func(esearch bool) func() (perfRun, error) {
		return func() (perfRun, error) { return h.w3pOurs(esearch) }
	}
	return []perfWorkload{
		{"w1", []perfVariant{{"w1/drain", "", h.w1Drain}, {"w1/fetch", "w1-fetch", h.w1Fetch}, {"w1/fetchfunc", "w1-fetchfunc", h.w1FetchFunc}}},
		{"w2", []perfVariant{{"w2/drain", "", h.w2Drain}, {"w2/ours", "w2", h.w2Ours}}},
		{"w3", []perfVariant{{"w3/drain", "", w3Drain(false)}, {"w3/ours", "w3", h.w3Ours}, {"w3/drain-pipelined", "", w3Drain(true)}}},
		{"w3p", []perfVariant{{"w3p/drain", "", w3Drain(true)}, {"w3p/ours", "w3p", w3pOurs(true)}, {"w3p/ours-plain", "w3p-plain", w3pOurs(false)}}},
		{"w6", []perfVariant{{"w6/drain", "", h.w6Drain}, {"w6/messages", "w6-messages", h.w6Messages}, {"w6/stream", "w6-stream", h.w6Stream}}},
		{"w5", []perfVariant{{"w5/drain", "", h.w5Drain}, {"w5/ours", "w5", h.w5Ours}}},
		{"w4", []perfVariant{{"w4/drain", "", h.w4Drain}, {"w4/ours", "", h.w4Ours}}},
	}
}

func perfExtra(r perfRun) string {
	var parts []string
	if r.heldHeap > 0 {
		parts = append(parts, fmt.Sprintf("held heap %.1fMB", float64(r.heldHeap)/1e6))
	}
	if r.misrouted > 0 {
		parts = append(parts, fmt.Sprintf("MISROUTED %d", r.misrouted))
	}
	if r.hits > 0 {
		parts = append(parts, fmt.Sprintf("hits %d", r.hits))
	}
	if r.attachments > 0 {
		parts = append(parts, fmt.Sprintf("with attachments %d", r.attachments))
	}
	if r.conns > 0 {
		parts = append(parts, fmt.Sprintf("conns %d saw %d setup %.2fs RSS/conn %.1fKB (stacks %.1fKB heap %.1fKB goroutines %.2f) notify p50 %.3fs max %.3fs",
			r.conns, r.saw, r.setup, r.rssPerConnKB, r.stackKBPerConn, r.heapKBPerConn, r.goroutinesPerConn, r.notifyP50, r.notifyMax))
	}
	return strings.Join(parts, " ")
}

// ---- measurement -------------------------------------------------------------

// perfMeter measures the wall and CPU time of a phase.
type perfMeter struct {
	t0     time.Time
	u0, s0 float64
	f0     int64
	rss0   int64
	mem0   [3]int64
}

func perfRusage() (user, sys float64, minflt int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime), tv(ru.Stime), int64(ru.Minflt)
}

// perfMemCounters returns the allocations (objects, bytes) and GC cycles so
// far, without stopping the world.
func perfMemCounters() [3]int64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	var v [3]int64
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s[i].Value.Uint64())
		}
	}
	return v
}

// perfStart begins a phase. The peak RSS (VmHWM) is reset to the current RSS,
// so that end can report how far the phase raised it.
func perfStart() perfMeter {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	m := perfMeter{rss0: perfStatusKB("VmRSS"), mem0: perfMemCounters()}
	m.u0, m.s0, m.f0 = perfRusage()
	m.t0 = time.Now()
	return m
}

func (m perfMeter) end(r *perfRun) {
	r.wall = time.Since(m.t0).Seconds()
	u, s, f := perfRusage()
	r.user, r.sys, r.faults = u-m.u0, s-m.s0, f-m.f0
	r.cpu = r.user + r.sys
	r.peakRSSKB = perfStatusKB("VmHWM") - m.rss0
	mem := perfMemCounters()
	r.allocs, r.allocBytes, r.gcs = mem[0]-m.mem0[0], mem[1]-m.mem0[1], mem[2]-m.mem0[2]
}

// perfStatusKB reads a "kB" field of /proc/self/status (VmRSS, VmHWM).
func perfStatusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return -1
}

// perfConnMem returns the goroutine count and the bytes of goroutine stacks
// and of heap objects (live or not yet collected).
func perfConnMem() (goroutines int, stacks, objects int64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return runtime.NumGoroutine(), int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

// perConn records what each of n connections added since before.
func (r *perfRun) perConn(n int, rss0 int64, g0 int, st0, obj0 int64) {
	g, st, obj := perfConnMem()
	r.rssPerConnKB = float64(perfStatusKB("VmRSS")-rss0) / float64(n)
	r.goroutinesPerConn = float64(g-g0) / float64(n)
	r.stackKBPerConn = float64(st-st0) / 1024 / float64(n)
	r.heapKBPerConn = float64(obj-obj0) / 1024 / float64(n)
}

// perfSettle collects the garbage of earlier runs and returns it to the OS,
// so that no run pays for another's garbage and RSS deltas start low.
func perfSettle() {
	runtime.GC()
	debug.FreeOSMemory()
}

func perfMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ---- corpus --------------------------------------------------------------------

type perfFolder struct {
	n           int
	bytes       int64 // sum of RFC822.SIZE (CRLF line ends)
	median, max int64
	over100K    int
	multipart   int      // messages whose root is multipart/*
	attachments int      // messages with a part that has a file name
	sums        []uint32 // CRC-32C of each message as IMAP sends it, by UID-1
}

// perfMsgInfo is what the generator tells of a message besides its bytes.
type perfMsgInfo struct {
	flags                 string // Maildir flag letters
	multipart, attachment bool   // see perfFolder
}

type perfCorpusInfo struct {
	inbox, small perfFolder
}

var perfCastagnoli = crc32.MakeTable(crc32.Castagnoli)

var perfWords = strings.Fields(`the of and to a in is that for it as was with be by on not he this are
or his from at which but have an they you were her she there one all we their been has would will more
if no when what so out up into them some could him time only new other then about these may than first
any like now over such our me even most made after also did many before must through back years where
much your way well down should because each just those people how too little state good very make world
project meeting report invoice budget deadline release server client update review schedule contract
proposal draft quarter revenue forecast customer support ticket issue patch deploy backup network
storage latency migration roadmap design prototype feedback agenda minutes summary approval shipment`)

var perfNames = strings.Fields(`alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia
peggy rupert sybil trent victor walter yolanda zoe liam emma noah ava mia lucas sofia mateo chloe`)

var perfTopics = []string{"Quarterly report", "Meeting notes", "Invoice", "Project update", "Weekly status",
	"Release planning", "Server maintenance", "Budget review", "Contract draft", "Customer feedback",
	"Security advisory", "Deployment schedule", "Design review", "Newsletter", "Your order has shipped"}

var perfMailers = []string{"Mozilla Thunderbird 115.6.0", "Microsoft Outlook 16.0", "Apple Mail (2.3731)",
	"Evolution 3.46.4", "Mutt/2.2.9", "Roundcube Webmail/1.6.5", "K-9 Mail for Android", "PHPMailer 6.8.1"}

// perfGen generates one message; every message has its own random stream,
// so a message does not depend on the scale or on the others.
type perfGen struct{ r *rand.Rand }

func (g perfGen) pick(l []string) string { return l[g.r.IntN(len(l))] }

// text appends about n bytes of prose wrapped at 72 columns.
func (g perfGen) text(b *bytes.Buffer, n int) {
	start, col := b.Len(), 0
	for b.Len()-start < n {
		w := g.pick(perfWords)
		if col+len(w)+1 > 72 {
			b.WriteByte('\n')
			col = 0
		} else if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
		if g.r.IntN(12) == 0 {
			b.WriteString(".\n\n")
			col = 0
		}
	}
	b.WriteByte('\n')
}

// base64 appends n random bytes, base64 in 76-column lines.
func (g perfGen) base64(b *bytes.Buffer, n int) {
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(g.r.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteByte('\n')
		enc = enc[76:]
	}
	b.WriteString(enc + "\n")
}

func (g perfGen) headers(b *bytes.Buffer, date time.Time, idx int) {
	from := g.pick(perfNames)
	fmt.Fprintf(b, "Return-Path: <%s@example.com>\nDelivered-To: bench@example.org\n", from)
	for i := 1 + g.r.IntN(3); i > 0; i-- {
		fmt.Fprintf(b, "Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\n\tby mail.example.org (Postfix) with ESMTPS id %08X\n\tfor <bench@example.org>; %s\n",
			i, i, 1+g.r.IntN(250), g.r.Uint32(), date.Format(time.RFC1123Z))
	}
	if g.r.IntN(2) == 0 {
		sig := make([]byte, 192)
		for i := range sig {
			sig[i] = byte(g.r.Uint32())
		}
		s := base64.StdEncoding.EncodeToString(sig)
		fmt.Fprintf(b, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1;\n\th=from:to:subject:date:message-id;\n\tb=%s\n\t %s\n\t %s\n", s[:72], s[72:144], s[144:])
	}
	name := strings.ToUpper(from[:1]) + from[1:]
	fmt.Fprintf(b, "From: %s Example <%s@example.com>\nTo: Bench User <bench@example.org>\n", name, from)
	if g.r.IntN(4) == 0 {
		fmt.Fprintf(b, "Cc: %s@example.net\n", g.pick(perfNames))
	}
	subj := g.pick(perfTopics)
	if g.r.IntN(3) == 0 {
		subj = "Re: " + subj
	}
	fmt.Fprintf(b, "Subject: %s #%d\nDate: %s\nMessage-ID: <%d.%08x@example.com>\n", subj, idx, date.Add(-time.Minute).Format(time.RFC1123Z), idx, g.r.Uint32())
	if g.r.IntN(2) == 0 {
		fmt.Fprintf(b, "X-Mailer: %s\n", g.pick(perfMailers))
	} else {
		fmt.Fprintf(b, "User-Agent: %s\n", g.pick(perfMailers))
	}
	b.WriteString("MIME-Version: 1.0\n")
}

// inboxMessage: median about 4 KB; ~2.6% carry a 100 KB-1 MB attachment, ~8%
// one of 5-60 KB, ~30% are multipart/alternative.
func (g perfGen) inboxMessage(b *bytes.Buffer, i int, date time.Time) (info perfMsgInfo) {
	g.headers(b, date, i)
	textLen := min(int(math.Exp(math.Log(1150)+0.8*g.r.NormFloat64())), 40000)
	boundary := fmt.Sprintf("=_perf_%d_%08x", i, g.r.Uint32())
	switch k := g.r.IntN(1000); {
	case k < 26, k < 110:
		enc := 5000 + g.r.IntN(55000)
		if k < 26 {
			enc = int(100e3 * math.Pow(10, g.r.Float64())) // log-uniform 100 KB..1 MB
		}
		fmt.Fprintf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\nContent-Type: text/plain; charset=UTF-8\n\n", boundary, boundary)
		g.text(b, textLen)
		fmt.Fprintf(b, "\n--%s\nContent-Type: application/octet-stream; name=\"file%d.bin\"\nContent-Transfer-Encoding: base64\n\n", boundary, i)
		g.base64(b, enc*57/78)
		fmt.Fprintf(b, "--%s--\n", boundary)
		info.multipart, info.attachment = true, true
	case k < 400:
		fmt.Fprintf(b, "Content-Type: multipart/alternative; boundary=\"%s\"\n\n--%s\nContent-Type: text/plain; charset=UTF-8\n\n", boundary, boundary)
		g.text(b, textLen)
		fmt.Fprintf(b, "\n--%s\nContent-Type: text/html; charset=UTF-8\n\n<html><body><p>", boundary)
		g.text(b, textLen+textLen/2)
		fmt.Fprintf(b, "</p></body></html>\n--%s--\n", boundary)
		info.multipart = true
	default:
		b.WriteString("Content-Type: text/plain; charset=UTF-8\n\n")
		g.text(b, 2*textLen)
	}
	return info
}

// smallMessage: about 2 KB of plain text.
func (g perfGen) smallMessage(b *bytes.Buffer, i int, date time.Time) {
	g.headers(b, date, i)
	b.WriteString("Content-Type: text/plain; charset=UTF-8\n\n")
	g.text(b, max(100, 1800+g.r.IntN(300)-b.Len()))
}

// flags: most messages seen, a few flagged or answered, recent ones unseen.
func (g perfGen) flags(recent bool) string {
	var f string
	if g.r.IntN(100) < 4 {
		f += "F"
	}
	if g.r.IntN(100) < 12 {
		f += "R"
	}
	if !recent || g.r.IntN(3) == 0 {
		f += "S"
	}
	return f
}

// perfWriteCorpus writes INBOX and the folder "small" as Maildir files, with
// a dovecot-uidlist so that UIDs follow the generation order, all owned by
// the mail uid, and returns their sizes and checksums.
func perfWriteCorpus(root string, scale float64, seed uint64) (*perfCorpusInfo, error) {
	c := &perfCorpusInfo{}
	nInbox := max(1, int(10000*scale+0.5))
	nSmall := max(1, int(2000*scale+0.5))
	var err error
	c.inbox, err = perfWriteFolder(root, "", nInbox, 1700000001, func(g perfGen, b *bytes.Buffer, i int, date time.Time) perfMsgInfo {
		info := g.inboxMessage(b, i, date)
		info.flags = g.flags(i >= nInbox-nInbox/20)
		return info
	}, seed)
	if err != nil {
		return nil, err
	}
	c.small, err = perfWriteFolder(root, "small", nSmall, 1700000002, func(g perfGen, b *bytes.Buffer, i int, date time.Time) perfMsgInfo {
		g.smallMessage(b, i, date)
		return perfMsgInfo{flags: g.flags(i >= nSmall-nSmall/10)}
	}, seed+1)
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, dovecotUID, dovecotUID)
	})
	return c, err
}

func perfWriteFolder(root, name string, n int, uidValidity uint32,
	gen func(perfGen, *bytes.Buffer, int, time.Time) perfMsgInfo, seed uint64) (perfFolder, error) {
	dir := root
	if name != "" {
		dir = filepath.Join(root, "."+name)
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return perfFolder{}, err
		}
	}
	if name != "" {
		if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
			return perfFolder{}, err
		}
	}
	f := perfFolder{n: n, sums: make([]uint32, n)}
	sizes := make([]int64, n)
	var uidlist bytes.Buffer
	fmt.Fprintf(&uidlist, "3 V%d N%d G%032x\n", uidValidity, n+1, uint64(uidValidity)*2654435761)
	start := time.Date(2023, 1, 1, 8, 0, 0, 0, time.UTC)
	step := time.Date(2024, 12, 31, 18, 0, 0, 0, time.UTC).Sub(start) / time.Duration(n)
	var b, crlf bytes.Buffer
	for i := 0; i < n; i++ {
		g := perfGen{rand.New(rand.NewPCG(seed, uint64(i)))}
		date := start.Add(step*time.Duration(i) + time.Duration(g.r.Int64N(int64(step)/2+1))).Truncate(time.Second)
		b.Reset()
		info := gen(g, &b, i+1, date)
		data := b.Bytes()
		crlf.Reset()
		for line := range bytes.Lines(data) {
			crlf.Write(line[:len(line)-1])
			crlf.WriteString("\r\n")
		}
		vsize := int64(crlf.Len())
		f.sums[i] = crc32.Checksum(crlf.Bytes(), perfCastagnoli)
		base := fmt.Sprintf("%d.M%dP1.perf,S=%d,W=%d", date.Unix(), i+1, len(data), vsize)
		path := filepath.Join(dir, "cur", base+":2,"+info.flags)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return f, err
		}
		if err := os.Chtimes(path, date, date); err != nil {
			return f, err
		}
		fmt.Fprintf(&uidlist, "%d :%s\n", i+1, base)
		f.bytes += vsize
		sizes[i] = vsize
		if vsize > 100_000 {
			f.over100K++
		}
		if info.multipart {
			f.multipart++
		}
		if info.attachment {
			f.attachments++
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "dovecot-uidlist"), uidlist.Bytes(), 0o600); err != nil {
		return f, err
	}
	slices.Sort(sizes)
	f.median, f.max = sizes[n/2], sizes[n-1]
	return f, nil
}

// ---- the raw drain client ------------------------------------------------------

// perfRaw is the floor a client library is compared with: it writes command
// lines itself and reads the responses only far enough to find the tagged
// completions. Literals are skipped by their length, never scanned.
type perfRaw struct {
	conn net.Conn
	buf  []byte // input is buf[r:w]
	r, w int
	rx   int64 // bytes read
	// keepLits makes drain keep the literals in lits (W5 reads the
	// messages it appends) instead of skipping them.
	keepLits bool
	lits     [][]byte
}

func perfDial(addr string, bufSize int) (*perfRaw, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &perfRaw{conn: conn, buf: make([]byte, bufSize)}
	conn.SetDeadline(time.Now().Add(perfOpTimeout))
	if _, err := c.segment(); err != nil { // the greeting
		conn.Close()
		return nil, err
	}
	return c, nil
}

// fill reads more input, first moving the unread bytes to the front (or
// growing the buffer when it is full).
func (c *perfRaw) fill() error {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.buf) {
		c.buf = append(c.buf, make([]byte, len(c.buf))...)
	}
	n, err := c.conn.Read(c.buf[c.w:])
	c.w += n
	c.rx += int64(n)
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// segment returns the input up to the next CRLF (without it). The slice is
// valid until the next read.
func (c *perfRaw) segment() ([]byte, error) {
	for {
		if i := bytes.IndexByte(c.buf[c.r:c.w], '\n'); i >= 0 {
			s := c.buf[c.r : c.r+i]
			c.r += i + 1
			return bytes.TrimSuffix(s, []byte{'\r'}), nil
		}
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
}

// skip discards n bytes (a literal), or appends them to lits as one
// literal if keepLits is set.
func (c *perfRaw) skip(n int64) error {
	var lit []byte
	if c.keepLits {
		lit = make([]byte, 0, n)
	}
	for n > 0 {
		if c.r == c.w {
			c.r, c.w = 0, 0
			if err := c.fill(); err != nil {
				return err
			}
		}
		k := min(n, int64(c.w-c.r))
		if c.keepLits {
			lit = append(lit, c.buf[c.r:c.r+int(k)]...)
		}
		c.r += int(k)
		n -= k
	}
	if c.keepLits {
		c.lits = append(c.lits, lit)
	}
	return nil
}

// literalSize returns N if the segment ends with {N} or {N+}.
func perfLiteralSize(s []byte) (int64, bool) {
	if len(s) < 3 || s[len(s)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(s, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(bytes.TrimSuffix(s[i+1:len(s)-1], []byte{'+'})), 10, 64)
	return n, err == nil
}

// drain reads responses until n tagged completions have arrived and returns
// how many of them were not OK (and the first such line). onLine, if not
// nil, sees every response line that starts a response.
func (c *perfRaw) drain(n int, onLine func([]byte)) (bad int, badLine string, err error) {
	start := true
	for n > 0 {
		s, err := c.segment()
		if err != nil {
			return bad, badLine, err
		}
		if start && len(s) > 0 {
			if onLine != nil {
				onLine(s)
			}
			if s[0] != '*' && s[0] != '+' {
				n--
				if sp := bytes.IndexByte(s, ' '); sp < 0 || !bytes.HasPrefix(s[sp+1:], []byte("OK")) {
					if bad == 0 {
						badLine = string(s)
					}
					bad++
				}
			}
		}
		start = true
		if lit, ok := perfLiteralSize(s); ok {
			if err := c.skip(lit); err != nil {
				return bad, badLine, err
			}
			start = false // the rest of this response follows
		}
	}
	return bad, badLine, nil
}

func (c *perfRaw) send(line string) error {
	_, err := io.WriteString(c.conn, line)
	return err
}

// pipeline writes n commands with write, from another goroutine so that
// the server's answers are read while the commands are still being sent,
// and drains the n completions; it fails unless all of them are OK. what
// names the commands in the error.
func (c *perfRaw) pipeline(what string, n int, write func(w *bufio.Writer)) error {
	werr := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(c.conn, 64<<10)
		write(bw)
		werr <- bw.Flush()
	}()
	bad, badLine, err := c.drain(n, nil)
	if err == nil {
		err = <-werr
	}
	if err == nil && bad > 0 {
		err = fmt.Errorf("%d %s failed: %s", bad, what, badLine)
	}
	return err
}

// command sends one tagged command and waits for its completion; it fails
// unless the completion is OK.
func (c *perfRaw) command(tag, cmd string, onLine func([]byte)) error {
	if err := c.send(tag + " " + cmd + "\r\n"); err != nil {
		return err
	}
	bad, line, err := c.drain(1, onLine)
	if err == nil && bad > 0 {
		err = fmt.Errorf("%s: %s", cmd, line)
	}
	return err
}

func perfQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// open connects, logs in and selects box (if not ""); it returns EXISTS.
func (h *perfHarness) rawOpen(box string, bufSize int) (*perfRaw, int, error) {
	c, err := perfDial(h.addr, bufSize)
	if err != nil {
		return nil, 0, err
	}
	if err := c.command("L", "LOGIN "+perfQuote(h.user)+" "+perfQuote(h.pass), nil); err != nil {
		c.conn.Close()
		return nil, 0, err
	}
	exists := -1
	if box != "" {
		err = c.command("S", "SELECT "+perfQuote(box), func(l []byte) {
			if f := strings.Fields(string(l)); len(f) == 3 && f[2] == "EXISTS" {
				exists, _ = strconv.Atoi(f[1])
			}
		})
		if err != nil {
			c.conn.Close()
			return nil, 0, err
		}
	}
	return c, exists, nil
}

func (c *perfRaw) logout() {
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	_ = c.command("Z", "LOGOUT", nil)
	c.conn.Close()
}

// uidSearchAll returns the UIDs of the selected mailbox (unmeasured setup).
func (c *perfRaw) uidSearchAll() ([]string, error) {
	var uids []string
	err := c.command("U", "UID SEARCH ALL", func(l []byte) {
		if rest, ok := bytes.CutPrefix(l, []byte("* SEARCH")); ok {
			uids = append(uids, strings.Fields(string(rest))...)
		}
	})
	return uids, err
}

// ---- the harness -----------------------------------------------------------------

type perfHarness struct {
	t          *testing.T
	d          *dovecotServer
	user, pass string
	addr       string
	corpus     *perfCorpusInfo
	runs       map[string][]perfRun
	searchForm string // how W3p's ours variant sent its SEARCH commands
}

// prepare lets Dovecot index both folders, checks the message counts and
// sizes, and warms the page cache and Dovecot's caches with one unmeasured
// run of the drain client of each workload to run (W6's lets Dovecot cache
// the ENVELOPE and BODYSTRUCTURE of every message, which the first run would
// pay for otherwise).
func (h *perfHarness) prepare(workloads []perfWorkload, want map[string]bool) error {
	for _, f := range []struct {
		box string
		pf  perfFolder
	}{{"INBOX", h.corpus.inbox}, {"small", h.corpus.small}} {
		c, exists, err := h.rawOpen(f.box, 256<<10)
		if err != nil {
			return err
		}
		if exists != f.pf.n {
			return fmt.Errorf("%s: Dovecot sees %d messages, %d written", f.box, exists, f.pf.n)
		}
		var total int64
		err = c.command("F", "FETCH 1:* (RFC822.SIZE)", func(l []byte) {
			if _, v, ok := bytes.Cut(l, []byte("RFC822.SIZE ")); ok {
				n, _ := strconv.ParseInt(string(bytes.TrimRight(v, ")")), 10, 64)
				total += n
			}
		})
		if err != nil {
			return err
		}
		if total != f.pf.bytes {
			return fmt.Errorf("%s: Dovecot reports %d bytes, %d written", f.box, total, f.pf.bytes)
		}
		c.logout()
	}
	// W4's: Dovecot forks an imap process per connection and keeps it for
	// the next, so the first W4 run would pay for the forks.
	for _, w := range workloads {
		if !want[w.name] {
			continue
		}
		if _, err := w.variants[0].run(); err != nil {
			return fmt.Errorf("warm-up %s: %w", w.variants[0].key, err)
		}
	}
	return h.removeProbes()
}

// removeProbes expunges the messages that W4 appended to INBOX (UIDs above
// the corpus), so that every run sees the same mailbox.
func (h *perfHarness) removeProbes() error {
	c, _, err := h.rawOpen("INBOX", 64<<10)
	if err != nil {
		return err
	}
	defer c.logout()
	var del []string
	err = c.command("P", fmt.Sprintf("UID SEARCH UID %d:*", h.corpus.inbox.n+1), func(l []byte) {
		if rest, ok := bytes.CutPrefix(l, []byte("* SEARCH")); ok {
			for _, u := range strings.Fields(string(rest)) {
				if v, _ := strconv.Atoi(u); v > h.corpus.inbox.n {
					del = append(del, u)
				}
			}
		}
	})
	if err != nil || len(del) == 0 {
		return err
	}
	set := strings.Join(del, ",")
	if err := c.command("P", "UID STORE "+set+` +FLAGS.SILENT (\Deleted)`, nil); err != nil {
		return err
	}
	return c.command("P", "UID EXPUNGE "+set, nil)
}

// open connects our client, logs in and selects box; it returns EXISTS.
func (h *perfHarness) open(box string) (*IMAP4, int, error) {
	m, err := New(h.d.Host, &Options{Port: h.d.Port, Timeout: perfOpTimeout})
	if err != nil {
		return nil, 0, err
	}
	if err := perfOK(m.Login(h.user, h.pass)); err != nil {
		m.Shutdown()
		return nil, 0, err
	}
	if box == "" {
		return m, 0, nil
	}
	res, err := perfWait(m.Select(box, false))
	if err != nil {
		m.Shutdown()
		return nil, 0, fmt.Errorf("SELECT %s: %w", box, err)
	}
	exists, err := strconv.Atoi(strings.TrimSpace(res.Data[0].Text))
	if err != nil {
		m.Shutdown()
		return nil, 0, fmt.Errorf("SELECT %s: no EXISTS in %q", box, res.Data[0].Text)
	}
	return m, exists, nil
}

// runOurs runs one workload with our client: f gets a connection with box
// selected, its EXISTS and the run to fill in.
func (h *perfHarness) runOurs(box string, f func(m *IMAP4, exists int, r *perfRun) error) (perfRun, error) {
	var r perfRun
	m, n, err := h.open(box)
	if err != nil {
		return r, err
	}
	defer perfClose(m)
	err = f(m, n, &r)
	return r, err
}

// perfWait waits for c; a completion other than OK is an error.
func perfWait(c *Command) (Result, error) {
	res, err := c.Wait()
	if err == nil && res.Type != "OK" {
		err = fmt.Errorf("%s %s", res.Type, res.Data[0].Text)
	}
	return res, err
}

func perfOK(c *Command) error {
	_, err := perfWait(c)
	return err
}

func perfClose(m *IMAP4) {
	m.Logout().Wait()
	m.Shutdown()
}

// ---- W1 --------------------------------------------------------------------------

func (h *perfHarness) w1Drain() (perfRun, error) { return h.fetchDrain(perfFetchParts) }

// fetchDrain is the drain client's W1 and W6: one FETCH 1:<EXISTS> items
// of INBOX.
func (h *perfHarness) fetchDrain(items string) (perfRun, error) {
	var r perfRun
	c, n, err := h.rawOpen("INBOX", 256<<10)
	if err != nil {
		return r, err
	}
	defer c.logout()
	rx0 := c.rx
	m := perfStart()
	err = c.command("F", fmt.Sprintf("FETCH 1:%d %s", n, items), nil)
	m.end(&r)
	r.messages, r.bytes = n, c.rx-rx0
	return r, err
}

func (h *perfHarness) w1Fetch() (perfRun, error) {
	return h.runOurs("INBOX", func(m *IMAP4, n int, r *perfRun) error {
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		meter := perfStart()
		res, err := m.Fetch(fmt.Sprintf("1:%d", n), perfFetchParts).Wait()
		meter.end(r)
		if err != nil {
			return err
		}
		for _, d := range res.Data {
			if d.IsLiteral() {
				r.messages++
				r.bytes += int64(len(d.Literal))
			}
		}
		// Not timed: the live heap while the result is held.
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(res)
		r.heldHeap = int64(after.HeapAlloc) - int64(before.HeapAlloc)
		return h.checkW1(*r, n)
	})
}

func (h *perfHarness) w1FetchFunc() (perfRun, error) {
	return h.runOurs("INBOX", func(m *IMAP4, n int, r *perfRun) error {
		meter := perfStart()
		err := perfOK(m.FetchFunc(fmt.Sprintf("1:%d", n), perfFetchParts, func(msg []Datum) {
			for _, d := range msg {
				if d.IsLiteral() {
					r.messages++
					r.bytes += int64(len(d.Literal))
				}
			}
		}))
		meter.end(r)
		if err != nil {
			return err
		}
		return h.checkW1(*r, n)
	})
}

func (h *perfHarness) checkW1(r perfRun, n int) error {
	if r.messages != n || n != h.corpus.inbox.n || r.bytes != h.corpus.inbox.bytes {
		return fmt.Errorf("got %d bodies of %d bytes, want %d of %d", r.messages, r.bytes, h.corpus.inbox.n, h.corpus.inbox.bytes)
	}
	return nil
}

// ---- W2 --------------------------------------------------------------------------

func (h *perfHarness) w2Drain() (perfRun, error) {
	var r perfRun
	c, _, err := h.rawOpen("small", 256<<10)
	if err != nil {
		return r, err
	}
	defer c.logout()
	uids, err := c.uidSearchAll()
	if err != nil {
		return r, err
	}
	rx0 := c.rx
	m := perfStart()
	err = c.pipeline("UID FETCH", len(uids), func(bw *bufio.Writer) {
		var line []byte
		for i, uid := range uids {
			line = append(line[:0], 'U')
			line = strconv.AppendInt(line, int64(i), 10)
			line = append(line, " UID FETCH "...)
			line = append(line, uid...)
			line = append(line, " "+perfFetchParts+"\r\n"...)
			bw.Write(line)
		}
	})
	m.end(&r)
	r.messages, r.bytes = len(uids), c.rx-rx0
	return r, err
}

func (h *perfHarness) w2Ours() (perfRun, error) {
	return h.runOurs("small", func(m *IMAP4, _ int, r *perfRun) error {
		res, err := m.UID("SEARCH", "ALL").Wait()
		if err != nil {
			return err
		}
		var uids []string
		for _, d := range res.Data {
			uids = append(uids, strings.Fields(d.Text)...)
		}
		if len(uids) != h.corpus.small.n {
			return fmt.Errorf("UID SEARCH ALL: %d UIDs, want %d", len(uids), h.corpus.small.n)
		}
		results := make([]Result, len(uids))
		errs := make([]error, len(uids))
		var wg sync.WaitGroup
		wg.Add(len(uids))
		meter := perfStart()
		for i, uid := range uids {
			m.UID("FETCH", uid, perfFetchParts).OnDone(func(res Result, err error) {
				results[i], errs[i] = res, err
				wg.Done()
			})
		}
		wg.Wait()
		meter.end(r)
		// Not timed: every result must hold exactly its own message.
		for i, uid := range uids {
			if errs[i] != nil {
				return fmt.Errorf("UID FETCH %s: %w", uid, errs[i])
			}
			u, _ := strconv.Atoi(uid)
			bodies, own := 0, false
			for _, d := range results[i].Data {
				if !d.IsLiteral() {
					continue
				}
				bodies++
				r.messages++
				r.bytes += int64(len(d.Literal))
				own = u >= 1 && u <= len(h.corpus.small.sums) &&
					(strings.Contains(d.Text, "UID "+uid+" ") || strings.Contains(d.Text, "UID "+uid+")")) &&
					crc32.Checksum(d.Literal, perfCastagnoli) == h.corpus.small.sums[u-1]
			}
			if bodies != 1 || !own {
				r.misrouted++
			}
		}
		if r.bytes != h.corpus.small.bytes {
			return fmt.Errorf("got %d body bytes, want %d (misrouted %d)", r.bytes, h.corpus.small.bytes, r.misrouted)
		}
		return nil
	})
}

// ---- W3 --------------------------------------------------------------------------

func (h *perfHarness) w3Drain(pipelined bool) (perfRun, error) {
	var r perfRun
	c, _, err := h.rawOpen("INBOX", 64<<10)
	if err != nil {
		return r, err
	}
	defer c.logout()
	n := *perfSearches
	lines := make([]string, n)
	for i := range lines {
		lines[i] = "Q" + strconv.Itoa(i) + " SEARCH " + perfCriteria[i%len(perfCriteria)] + "\r\n"
	}
	rx0 := c.rx
	m := perfStart()
	if pipelined {
		err = c.pipeline("SEARCH", n, func(bw *bufio.Writer) {
			for _, l := range lines {
				bw.WriteString(l)
			}
		})
	} else {
		bad, badLine := 0, ""
		for i := 0; i < n && err == nil; i++ {
			if err = c.send(lines[i]); err == nil {
				var b int
				b, badLine, err = c.drain(1, nil)
				bad += b
			}
		}
		if err == nil && bad > 0 {
			err = fmt.Errorf("%d SEARCH failed: %s", bad, badLine)
		}
	}
	m.end(&r)
	r.bytes = c.rx - rx0
	return r, err
}

func (h *perfHarness) w3Ours() (perfRun, error) {
	crit := perfCriteriaKeys()
	return h.runOurs("INBOX", func(m *IMAP4, _ int, r *perfRun) error {
		meter := perfStart()
		for i := 0; i < *perfSearches; i++ {
			res, err := perfWait(m.Search("", crit[i%len(crit)]...))
			if err != nil {
				return fmt.Errorf("SEARCH %s: %w", perfCriteria[i%len(perfCriteria)], err)
			}
			for _, d := range res.Data {
				r.hits += strings.Count(d.Text, " ") + 1
				if d.Text == "" {
					r.hits--
				}
			}
		}
		meter.end(r)
		return nil
	})
}

// perfCriteriaKeys returns perfCriteria split by perfSearchKeys.
func perfCriteriaKeys() [][]string {
	crit := make([][]string, len(perfCriteria))
	for i, l := range perfCriteria {
		crit[i] = perfSearchKeys(l)
	}
	return crit
}

// perfSearchKeys splits a criteria line into search keys, keeping quoted
// strings and parenthesised groups whole, so that each travels as one
// argument that the quoting rules leave alone.
func perfSearchKeys(line string) []string {
	var keys []string
	depth, quoted, start := 0, false, -1
	for i := 0; i <= len(line); i++ {
		if i == len(line) || (line[i] == ' ' && depth == 0 && !quoted) {
			if start >= 0 {
				keys = append(keys, line[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
		switch c := line[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '(':
			depth++
		case !quoted && c == ')':
			depth--
		}
	}
	return keys
}

// ---- W4 --------------------------------------------------------------------------

func perfProbe() string {
	return "From: Probe <probe@example.org>\r\nTo: bench@example.org\r\nSubject: idle probe\r\n" +
		"Message-ID: <probe." + strconv.FormatInt(time.Now().UnixNano(), 10) + "@example.org>\r\n\r\nIDLE probe.\r\n"
}

// perfIdleResult turns the notification times into the W4 figures.
func perfIdleResult(r *perfRun, seen []time.Time, t0 time.Time) {
	var lat []float64
	for _, s := range seen {
		if !s.IsZero() && !s.Before(t0) {
			lat = append(lat, s.Sub(t0).Seconds())
		}
	}
	slices.Sort(lat)
	r.saw = len(lat)
	if len(lat) > 0 {
		r.notifyP50, r.notifyMax = lat[len(lat)/2], lat[len(lat)-1]
	}
}

// perfParallel runs f(0..n-1) with at most par at a time; it returns the
// first error.
func perfParallel(n, par int, f func(i int) error) error {
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var first atomic.Value
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				first.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return e.(error)
	}
	return nil
}

func (h *perfHarness) w4Drain() (perfRun, error) {
	n := *perfConns
	r := perfRun{conns: n}
	conns := make([]*perfRaw, n)
	seen := make([]time.Time, n)
	var readers sync.WaitGroup
	defer func() {
		perfParallel(n, perfSetupPar, func(i int) error {
			if c := conns[i]; c != nil {
				c.conn.SetDeadline(time.Now().Add(10 * time.Second))
				c.send("DONE\r\n")
				readers.Wait()
				c.drain(1, nil) // the IDLE completion
				c.logout()
			}
			return nil
		})
	}()
	rss0 := perfStatusKB("VmRSS")
	g0, st0, obj0 := perfConnMem()
	meter := perfStart()
	err := perfParallel(n, perfSetupPar, func(i int) error {
		c, _, err := h.rawOpen("INBOX", 4<<10)
		if err != nil {
			return fmt.Errorf("conn %d: %w", i, err)
		}
		conns[i] = c
		if err := c.send("I IDLE\r\n"); err != nil {
			return err
		}
		if l, err := c.segment(); err != nil || !bytes.HasPrefix(l, []byte("+")) {
			return fmt.Errorf("conn %d IDLE: %q %v", i, l, err)
		}
		c.conn.SetDeadline(time.Now().Add(perfOpTimeout))
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				l, err := c.segment()
				if err != nil {
					return
				}
				if bytes.HasSuffix(l, []byte(" EXISTS")) {
					seen[i] = time.Now()
					return
				}
			}
		}()
		return nil
	})
	if err != nil {
		return r, err
	}
	r.setup = time.Since(meter.t0).Seconds()
	time.Sleep(time.Second)
	r.perConn(n, rss0, g0, st0, obj0)

	app, _, err := h.rawOpen("", 4<<10)
	if err != nil {
		return r, err
	}
	defer app.logout()
	msg := perfProbe()
	t0 := time.Now()
	if err := app.command("A", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg), nil); err != nil {
		return r, err
	}
	r.appendS = time.Since(t0).Seconds()
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
	}
	meter.end(&r)
	perfIdleResult(&r, seen, t0)
	if r.saw != n {
		return r, fmt.Errorf("only %d of %d connections saw EXISTS", r.saw, n)
	}
	return r, nil
}

func (h *perfHarness) w4Ours() (perfRun, error) {
	n := *perfConns
	r := perfRun{conns: n}
	ms := make([]*IMAP4, n)
	ended := make([]time.Time, n)
	var mu sync.Mutex
	remaining := n
	allEnded := make(chan struct{})
	defer func() {
		perfParallel(n, perfSetupPar, func(i int) error {
			if ms[i] != nil {
				perfClose(ms[i])
			}
			return nil
		})
	}()
	rss0 := perfStatusKB("VmRSS")
	g0, st0, obj0 := perfConnMem()
	meter := perfStart()
	err := perfParallel(n, perfSetupPar, func(i int) error {
		m, _, err := h.open("INBOX")
		if err != nil {
			return fmt.Errorf("conn %d: %w", i, err)
		}
		ms[i] = m
		m.Idle(perfIdleFor).OnDone(func(Result, error) {
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			ended[i] = now
			if remaining--; remaining == 0 {
				close(allEnded)
			}
		})
		return nil
	})
	if err != nil {
		return r, err
	}
	r.setup = time.Since(meter.t0).Seconds()
	time.Sleep(time.Second)
	r.perConn(n, rss0, g0, st0, obj0)

	app, _, err := h.open("")
	if err != nil {
		return r, err
	}
	defer perfClose(app)
	t0 := time.Now()
	if err := perfOK(app.Append("INBOX", "", time.Time{}, []byte(perfProbe()))); err != nil {
		return r, err
	}
	r.appendS = time.Since(t0).Seconds()
	select {
	case <-allEnded:
	case <-time.After(60 * time.Second):
	}
	meter.end(&r)
	mu.Lock()
	seen := slices.Clone(ended)
	mu.Unlock()
	perfIdleResult(&r, seen, t0)
	if r.saw != n {
		return r, fmt.Errorf("only %d of %d Idle commands completed after the APPEND", r.saw, n)
	}
	return r, nil
}

// ---- profiles --------------------------------------------------------------------

// profile runs each of our variants that has a profile name -perf.profreps
// more times under the CPU profiler. The profiles include connection setup
// and the checks (W2, W3p, W6), and W5's reading of the messages.
func (h *perfHarness) profile(dir string, workloads []perfWorkload, want map[string]bool) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Errorf("profile dir: %v", err)
		return
	}
	var variants []perfVariant
	for _, w := range workloads {
		if want[w.name] {
			variants = append(variants, w.variants...)
		}
	}
	for _, p := range variants {
		if p.profile == "" {
			continue
		}
		path := filepath.Join(dir, "ours-"+p.profile+".pprof")
		f, err := os.Create(path)
		if err != nil {
			h.t.Errorf("%v", err)
			return
		}
		perfSettle()
		// The profile covers the connection setup too; it is short.
		if err := pprof.StartCPUProfile(f); err != nil {
			h.t.Errorf("%v", err)
			f.Close()
			return
		}
		for i := 0; i < max(1, *perfProfReps) && err == nil; i++ {
			_, err = p.run()
		}
		pprof.StopCPUProfile()
		f.Close()
		if err != nil {
			h.t.Errorf("profile run %s: %v", p.profile, err)
			continue
		}
		h.t.Logf("CPU profile %s (go tool pprof -top %s)", path, path)
		if err := h.allocProfile(dir, p.profile, p.run); err != nil {
			h.t.Errorf("allocation profile %s: %v", p.profile, err)
		}
	}
}

// allocProfile records every allocation of one more run: the difference of
// two "allocs" profiles taken with MemProfileRate 1 before and after it.
func (h *perfHarness) allocProfile(dir, name string, run func() (perfRun, error)) error {
	write := func(path string) error {
		runtime.GC() // the profile shows the allocations up to the last GC
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	base := filepath.Join(dir, "ours-"+name+".allocs-base.pprof")
	path := filepath.Join(dir, "ours-"+name+".allocs.pprof")
	if err := write(base); err != nil {
		return err
	}
	if _, err := run(); err != nil {
		return err
	}
	if err := write(path); err != nil {
		return err
	}
	h.t.Logf("allocations: go tool pprof -sample_index=alloc_objects -top -base %s %s", base, path)
	return nil
}

// ---- report ------------------------------------------------------------------------

func (h *perfHarness) med(key string, f func(perfRun) float64) float64 {
	var xs []float64
	for _, r := range h.runs[key] {
		xs = append(xs, f(r))
	}
	return perfMedian(xs)
}

func perfMachine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	mem := perfMemTotalGiB()
	dv := "Dovecot"
	if out, err := exec.Command(dovecotMaster, "--version").Output(); err == nil {
		dv += " " + strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%s, %d cores, %.1f GiB; Linux %s; %s; %s", model, runtime.NumCPU(), mem,
		strings.TrimSpace(string(kernel)), runtime.Version(), dv)
}

func perfMemTotalGiB() float64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / (1 << 20)
			}
		}
	}
	return 0
}

func perfRatio(a, b float64) string {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func (h *perfHarness) report() string {
	var b strings.Builder
	c := h.corpus
	wall := func(r perfRun) float64 { return r.wall }
	cpu := func(r perfRun) float64 { return r.cpu }
	fmt.Fprintf(&b, "### Performance (perf_test.go): %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- machine: %s (client and server share the cores)\n", perfMachine())
	fmt.Fprintf(&b, "- server: the test fixture's Dovecot on 127.0.0.1 (Maildir, plain TCP); client CPU = this process's user+sys (getrusage)\n")
	fmt.Fprintf(&b, "- corpus (scale %g, seed %d): INBOX %d messages, %.1f MB (median %.1f KB, max %.0f KB, %d > 100 KB); small %d messages, %.1f MB\n",
		*perfScale, *perfSeed, c.inbox.n, float64(c.inbox.bytes)/1e6, float64(c.inbox.median)/1e3, float64(c.inbox.max)/1e3, c.inbox.over100K,
		c.small.n, float64(c.small.bytes)/1e6)
	fmt.Fprintf(&b, "- medians of %d repetitions, clients interleaved; drain = raw client that writes the command lines and skips to the tagged completion\n", *perfReps)
	fmt.Fprintf(&b, "- command: `go test -tags perf -run TestPerformance -count=1 -timeout 30m -v . -args -perf -perf.scale=%g -perf.reps=%d -perf.conns=%d -perf.workloads=%s`\n\n",
		*perfScale, *perfReps, *perfConns, *perfWorkloads)

	b.WriteString("| workload | ours wall s | drain wall s | wall ÷ drain | ours CPU s | drain CPU s | CPU ÷ drain | notes |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
	peakMiB := func(key string) float64 {
		return h.med(key, func(r perfRun) float64 { return float64(r.peakRSSKB) / 1024 })
	}
	row := func(name, ours, drain, note string) {
		if len(h.runs[ours]) == 0 || len(h.runs[drain]) == 0 {
			return
		}
		ow, dw := h.med(ours, wall), h.med(drain, wall)
		oc, dc := h.med(ours, cpu), h.med(drain, cpu)
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %s | %.3f | %.3f | %s | %s |\n", name, ow, dw, perfRatio(ow, dw), oc, dc, perfRatio(oc, dc), note)
	}
	if len(h.runs["w1/fetch"]) > 0 {
		held := float64(c.inbox.bytes) / 1e6
		peak := h.med("w1/fetch", func(r perfRun) float64 { return float64(r.peakRSSKB) * 1024 / 1e6 })
		heap := h.med("w1/fetch", func(r perfRun) float64 { return float64(r.heldHeap) / 1e6 })
		row(fmt.Sprintf("W1 FETCH 1:%d (BODY.PEEK[]), Fetch (holds all)", c.inbox.n), "w1/fetch", "w1/drain",
			fmt.Sprintf("peak RSS +%.0f MB for %.0f MB of bodies held (%.2f×); live heap %.0f MB", peak, held, peak/held, heap))
		row("W1 same, FetchFunc (streams)", "w1/fetchfunc", "w1/drain", fmt.Sprintf("peak RSS +%.1f MiB (drain +%.1f MiB)", peakMiB("w1/fetchfunc"), peakMiB("w1/drain")))
	}
	if len(h.runs["w2/ours"]) > 0 {
		mis := h.med("w2/ours", func(r perfRun) float64 { return float64(r.misrouted) })
		row(fmt.Sprintf("W2 %d pipelined UID FETCH (BODY.PEEK[]), OnDone", c.small.n), "w2/ours", "w2/drain",
			fmt.Sprintf("misrouted %.0f of %d", mis, c.small.n))
	}
	if len(h.runs["w3/ours"]) > 0 {
		note := fmt.Sprintf("hits %.0f", h.med("w3/ours", func(r perfRun) float64 { return float64(r.hits) }))
		if len(h.runs["w3/drain-pipelined"]) > 0 {
			note += fmt.Sprintf("; drain pipelined: wall %.3f s, CPU %.3f s", h.med("w3/drain-pipelined", wall), h.med("w3/drain-pipelined", cpu))
		}
		row(fmt.Sprintf("W3 %d SEARCH, sequential", *perfSearches), "w3/ours", "w3/drain", note)
	}
	searched := func(key string) string {
		return fmt.Sprintf("hits %.0f, misrouted %.0f of %d (results that differ from their criterion's run alone)",
			h.med(key, func(r perfRun) float64 { return float64(r.hits) }), h.med(key, func(r perfRun) float64 { return float64(r.misrouted) }), *perfSearches)
	}
	if len(h.runs["w3p/ours"]) > 0 {
		row(fmt.Sprintf("W3p %d SEARCH, all issued at once, then waited for; sent as %s", *perfSearches, h.searchForm), "w3p/ours", "w3p/drain",
			searched("w3p/ours")+"; drain: plain SEARCH, pipelined")
	}
	if len(h.runs["w3p/ours-plain"]) > 0 {
		row("W3p same, sent as plain SEARCH <criteria> (the library sends each once the one before has completed)", "w3p/ours-plain", "w3p/drain",
			searched("w3p/ours-plain"))
	}
	if len(h.runs["w6/messages"]) > 0 {
		row(fmt.Sprintf("W6 FETCH 1:%d %s, Fetch + Result.Messages (holds all)", c.inbox.n, perfHeaderItems), "w6/messages", "w6/drain",
			fmt.Sprintf("%d messages, Σ RFC822.SIZE %d, %d multipart, %d with attachments: all checked; peak RSS +%.1f MiB (drain +%.1f MiB)",
				c.inbox.n, c.inbox.bytes, c.inbox.multipart, c.inbox.attachments, peakMiB("w6/messages"), peakMiB("w6/drain")))
	}
	if len(h.runs["w6/stream"]) > 0 {
		row("W6 same, FetchFunc + ParseMessage (streams)", "w6/stream", "w6/drain", fmt.Sprintf("peak RSS +%.1f MiB", peakMiB("w6/stream")))
	}
	if len(h.runs["w5/ours"]) > 0 {
		rate := func(key string) float64 { return float64(c.small.n) / h.med(key, wall) }
		row(fmt.Sprintf("W5 %d APPEND to a new mailbox, all issued at once", c.small.n), "w5/ours", "w5/drain",
			fmt.Sprintf("%.0f APPENDs/s (drain, pipelined with {N+}: %.0f); %.2f MB of messages sent; STATUS MESSAGES %.0f; wall is Dovecot's (a Maildir file per message)",
				rate("w5/ours"), rate("w5/drain"), float64(c.small.bytes)/1e6, h.med("w5/ours", func(r perfRun) float64 { return float64(r.messages) })))
	}
	// Where the client CPU goes: user vs kernel time, page faults (expensive
	// on VMs), allocations and GC cycles of each measured phase.
	b.WriteString("\n| client cost (medians) | user s | sys s | page faults | allocs | allocs / msg | MB allocated | GC cycles |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range []struct{ key, name string }{
		{"w1/drain", "W1 drain"}, {"w1/fetch", "W1 ours Fetch"}, {"w1/fetchfunc", "W1 ours FetchFunc"},
		{"w2/drain", "W2 drain"}, {"w2/ours", "W2 ours"}, {"w3/drain", "W3 drain"}, {"w3/ours", "W3 ours"},
		{"w3p/drain", "W3p drain"}, {"w3p/ours", "W3p ours"}, {"w3p/ours-plain", "W3p ours, plain SEARCH"},
		{"w6/drain", "W6 drain"}, {"w6/messages", "W6 ours Messages"}, {"w6/stream", "W6 ours FetchFunc + ParseMessage"},
		{"w5/drain", "W5 drain"}, {"w5/ours", "W5 ours"},
	} {
		if len(h.runs[k.key]) == 0 {
			continue
		}
		allocs := h.med(k.key, func(r perfRun) float64 { return float64(r.allocs) })
		perMsg := "–"
		if msgs := h.med(k.key, func(r perfRun) float64 { return float64(r.messages) }); msgs > 0 {
			perMsg = fmt.Sprintf("%.1f", allocs/msgs)
		} else if strings.HasPrefix(k.key, "w3") {
			perMsg = fmt.Sprintf("%.1f / SEARCH", allocs/float64(*perfSearches))
		}
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.0f | %.0f | %s | %.1f | %.0f |\n", k.name,
			h.med(k.key, func(r perfRun) float64 { return r.user }), h.med(k.key, func(r perfRun) float64 { return r.sys }),
			h.med(k.key, func(r perfRun) float64 { return float64(r.faults) }), allocs, perMsg,
			h.med(k.key, func(r perfRun) float64 { return float64(r.allocBytes) / 1e6 }),
			h.med(k.key, func(r perfRun) float64 { return float64(r.gcs) }))
	}
	if len(h.runs["w4/ours"]) > 0 && len(h.runs["w4/drain"]) > 0 {
		fmt.Fprintf(&b, "\n| W4: %d connections LOGIN/SELECT INBOX/IDLE, one APPEND | ours | drain | ours ÷ drain |\n|---|---:|---:|---:|\n", *perfConns)
		for _, m := range []struct {
			name string
			f    func(perfRun) float64
			unit string
		}{
			{"RSS per connection (KB, after 1 s idle)", func(r perfRun) float64 { return r.rssPerConnKB }, "%.1f"},
			{"Go goroutine stack space added (KB per connection)", func(r perfRun) float64 { return r.stackKBPerConn }, "%.1f"},
			{"Go heap objects added, incl. uncollected garbage (KB per connection)", func(r perfRun) float64 { return r.heapKBPerConn }, "%.1f"},
			{"goroutines per connection", func(r perfRun) float64 { return r.goroutinesPerConn }, "%.2f"},
			{"setup of all connections (s, 32 in parallel)", func(r perfRun) float64 { return r.setup }, "%.2f"},
			{"notify p50 (s from APPEND)", func(r perfRun) float64 { return r.notifyP50 }, "%.3f"},
			{"notify max (s from APPEND)", func(r perfRun) float64 { return r.notifyMax }, "%.3f"},
			{"client CPU, whole run (s)", cpu, "%.3f"},
			{"connections that saw the APPEND", func(r perfRun) float64 { return float64(r.saw) }, "%.0f"},
		} {
			o, d := h.med("w4/ours", m.f), h.med("w4/drain", m.f)
			fmt.Fprintf(&b, "| %s | "+m.unit+" | "+m.unit+" | %s |\n", m.name, o, d, perfRatio(o, d))
		}
		b.WriteString("\nW4 notify: ours = completion of the Idle command (EXISTS, then DONE and the tagged OK); drain = the EXISTS line.\n")
	}
	return b.String()
}
