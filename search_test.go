package imaplib2

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dataOf returns a Result whose data is one Datum for each response
// text, as a command collects them.
func dataOf(texts ...string) Result {
	data := make([]Datum, len(texts))
	for i, text := range texts {
		data[i] = Datum{Text: text}
	}
	return Result{Type: "OK", Data: data}
}

// requireDataError checks that err is an error of this package that names
// the function or item and the offending text.
func requireDataError(t *testing.T, err error, names, text string) {
	t.Helper()
	msg := truncate(text)
	require.Error(t, err, msg)
	assert.ErrorIs(t, err, ErrError, msg)
	var e *Error
	assert.True(t, errors.As(err, &e), "%q: %T", msg, err)
	assert.Contains(t, err.Error(), names, msg)
	assert.Contains(t, err.Error(), strconv.Quote(truncate(text)), "the error quotes the data")
}

func TestNums(t *testing.T) {
	tests := []struct {
		name string
		res  Result
		want []uint32
	}{
		// RFC 3501 §6.4.4 and §7.2.5.
		{"SEARCH", dataOf("2 84 882"), []uint32{2, 84, 882}},
		{"SEARCH none", dataOf(""), nil},
		{"SEARCH one", dataOf("43"), []uint32{43}},
		{"SEARCH §7.2.5", dataOf("2 3 6"), []uint32{2, 3, 6}},
		// RFC 3501 §6.4.3: "* 3 EXPUNGE" four times, as Expunge collects them.
		{"EXPUNGE", dataOf("3", "3", "5", "8"), []uint32{3, 3, 5, 8}},
		// RFC 5256 §3.
		{"SORT", dataOf("2 84 882"), []uint32{2, 84, 882}},
		{"SORT unordered", dataOf("5 3 4 1 2"), []uint32{5, 3, 4, 1, 2}},
		// RFC 7162 (CONDSTORE).
		{"SEARCH MODSEQ", dataOf("2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)"),
			[]uint32{2, 5, 6, 7, 11, 12, 18, 19, 20, 23}},
		{"SORT MODSEQ", dataOf("5 3 4 1 2 (modseq 1236)"), []uint32{5, 3, 4, 1, 2}},
		{"one SEARCH split in two", dataOf("1 2 3", "7 8"), []uint32{1, 2, 3, 7, 8}},
		{"split, MODSEQ in each", dataOf("1 (MODSEQ 5)", "2 (MODSEQ 6)"), []uint32{1, 2}},
		{"nothing collected", Result{Type: "OK", Data: noData()}, nil},
		{"trailing space (Yahoo)", dataOf("61 62 63 "), []uint32{61, 62, 63}},
		{"largest", dataOf("4294967295"), []uint32{4294967295}},
		// RFC 4731 §4: ESEARCH, ALL or not.
		{"ESEARCH ALL", dataOf(`(TAG "A283") ALL 2,10:11`), []uint32{2, 10, 11}},
		{"ESEARCH UID ALL", dataOf(`(TAG "A287") UID ALL 4:6,11:13`), []uint32{4, 5, 6, 11, 12, 13}},
		{"ESEARCH without ALL", dataOf(`(TAG "A282") MIN 2 COUNT 3`), nil},
		{"ESEARCH without a tag", dataOf(`UID ALL 3:1`), []uint32{1, 2, 3}},
		{"ESEARCH empty", dataOf(`(TAG "A286")`), nil},
	}
	for _, tt := range tests {
		got, err := tt.res.Nums()
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestNumsErrors(t *testing.T) {
	tests := []struct{ text, names string }{
		{"2 x 5", "Nums: malformed SEARCH, SORT or EXPUNGE data: protocol error: want a number at offset 2"},
		{"0", "want a non-zero number at offset 0"},
		{"1 0", "want a non-zero number at offset 2"},
		{"1  2", "want a number at offset 2"},
		{"4294967296", "number 4294967296 out of range"},
		{"1,2", "want a space at offset 1"},
		{"1:3", "want a space at offset 1"},
		{"1 (MODSEQ)", "want ' ' at offset 9"},
		{"1 (MODSEQ 5", "want a space or \")\""},
		{"1 (MODSEQ x)", "want a number"},
		{"1 (FOO 5)", "want MODSEQ"},
		{"1 (MODSEQ 5) 2", "want the end after the MODSEQ"},
		{"1 (MODSEQ 5)(MODSEQ 6)", "want the end after the MODSEQ"},
		{"1 (MODSEQ 99999999999999999999)", "number too large"},
		{`(TAG "A1") ALL *`, `Nums: protocol error: ESEARCH ALL * holds "*"`},
		{`(TAG "A1") ALL 1:4294967294`, `ESEARCH ALL 1:4294967294 holds "*" or more than 16777216 numbers`},
		{`(TAG "A1") MIN 0`, "Nums: malformed ESEARCH MIN"},
		{`(TAG "A1"`, "Nums: malformed ESEARCH correlator"},
	}
	for _, tt := range tests {
		got, err := dataOf(tt.text).Nums()
		requireDataError(t, err, tt.names, tt.text)
		assert.Nil(t, got, tt.text)
	}
	_, err := dataOf("1 2", "3 x").Nums()
	requireDataError(t, err, "want a number at offset 2", "3 x")
	half := `(TAG "A1") ALL 1:8388609` // 2^23+1 numbers: two of them pass the bound
	_, err = dataOf(half, half).Nums()
	requireDataError(t, err, "more than 16777216 numbers", half)
}

func TestESearch(t *testing.T) {
	tests := []struct {
		text string
		want ESearchData
	}{
		// RFC 4731 §4.
		{`(TAG "A282") MIN 2 COUNT 3`, ESearchData{Min: 2, Count: 3}},
		{`(TAG "A283") ALL 2,10:11`, ESearchData{All: NumSet{{2, 2}, {10, 11}}}},
		{`(TAG "A284") MIN 4`, ESearchData{Min: 4}},
		{`(TAG "A285") UID MIN 7 MAX 3800`, ESearchData{UID: true, Min: 7, Max: 3800}},
		{`(TAG "A286") COUNT 15`, ESearchData{Count: 15}},
		{`(TAG "A287") UID ALL 4:6,11:13`, ESearchData{UID: true, All: NumSet{{4, 6}, {11, 13}}}},
		// RFC 4731: nothing matched, so no MIN, MAX or ALL.
		{`(TAG "A288")`, ESearchData{}},
		{`(TAG "A289") UID`, ESearchData{UID: true}},
		{`(TAG "A290") COUNT 0`, ESearchData{}},
		// RFC 7162 (CONDSTORE).
		{`(TAG "a") ALL 1:3,5 MODSEQ 1236`, ESearchData{All: NumSet{{1, 3}, {5, 5}}, ModSeq: 1236}},
		{`(TAG "a") MIN 3 MAX 5 MODSEQ 9223372036854775807`, ESearchData{Min: 3, Max: 5, ModSeq: 1<<63 - 1}},
		// Any order, any case, no correlator.
		{`count 3 max 9 uid min 2`, ESearchData{UID: true, Min: 2, Max: 9, Count: 3}},
		{`UID ALL 1:3`, ESearchData{UID: true, All: NumSet{{1, 3}}}},
		{``, ESearchData{}},
		{`(tag "A1") Min 2`, ESearchData{Min: 2}},
		{`(TAG "a\"b") MIN 2`, ESearchData{Min: 2}},
		// RFC 7377 MULTISEARCH correlator.
		{`(TAG "A1" MAILBOX "INBOX" UIDVALIDITY 42) UID ALL 1`, ESearchData{UID: true, All: NumSet{{1, 1}}}},
		// Extension items are read past: a number, a number64, a set, a list.
		{`(TAG "A1") X-NUM 5 X-BIG 18446744073709 X-SET 1:*,7 ALL 2 X-LIST (a "b c" (d)) MIN 2`,
			ESearchData{Min: 2, All: NumSet{{2, 2}}}},
		// RFC 9394 PARTIAL and RFC 6203 RELEVANCY.
		{`(TAG "A1") UID PARTIAL (-1:-100 200:250,252:300) COUNT 400`, ESearchData{UID: true, Count: 400}},
		{`(TAG "A1") ALL 1:3 RELEVANCY (4 99 42)`, ESearchData{All: NumSet{{1, 3}}}},
		{`(TAG "A1") UID PARTIAL (1:10 NIL)`, ESearchData{UID: true}},
		{`UID MIN 2 `, ESearchData{UID: true, Min: 2}},
	}
	for _, tt := range tests {
		got, err := dataOf(tt.text).ESearch()
		require.NoError(t, err, tt.text)
		assert.Equal(t, tt.want, got, tt.text)
	}

	// A tag in a literal.
	lit := Result{Type: "OK", Data: []Datum{{Text: "(TAG {4}", Literal: []byte("A282")}, {Text: ") MIN 2 COUNT 3"}}}
	got, err := lit.ESearch()
	require.NoError(t, err)
	assert.Equal(t, ESearchData{Min: 2, Count: 3}, got)

	// Several responses are merged.
	got, err = dataOf(`(TAG "A1") MIN 2 ALL 2:3`, `(TAG "A1") MIN 1 ALL 5 COUNT 3`).ESearch()
	require.NoError(t, err)
	assert.Equal(t, ESearchData{Min: 1, Count: 3, All: NumSet{{2, 3}, {5, 5}}}, got)

	got, err = Result{Type: "OK", Data: noData()}.ESearch()
	require.NoError(t, err)
	assert.Equal(t, ESearchData{}, got)
}

func TestESearchErrors(t *testing.T) {
	tests := []struct{ text, names string }{
		{`2 3 5`, `ESearch: malformed ESEARCH data: protocol error: want a return item at offset 0`},
		{`(TAG "A1") 2`, `want a return item at offset 11`},
		{`(TAG "A1"`, `ESearch: malformed ESEARCH correlator`},
		{`(TAG "A1) MIN 2`, `unterminated quoted string`},
		{`(TAG) MIN 2`, `malformed ESEARCH correlator`},
		{`(TAG "A1")MIN 2`, `after the ESEARCH correlator`},
		{`(TAG "A1")  MIN 2`, `want a return item at offset 11`},
		{`MIN`, `ESEARCH MIN without a value`},
		{`MIN 0`, `malformed ESEARCH MIN: protocol error: want a non-zero number at offset 4`},
		{`MAX x`, `malformed ESEARCH MAX`},
		{`MIN 4294967296`, `number 4294967296 out of range`},
		{`COUNT -1`, `malformed ESEARCH COUNT`},
		{`ALL`, `ESEARCH ALL without a value`},
		{`ALL 1:`, `malformed ESEARCH ALL`},
		{`ALL 0`, `malformed ESEARCH ALL`},
		{`ALL 1,,2`, `malformed ESEARCH ALL`},
		{`MODSEQ 99999999999999999999`, `malformed ESEARCH MODSEQ: protocol error: number too large`},
		{`MIN 2 COUNT 3)`, `after ESEARCH COUNT`},
		{`MIN 2,3`, `after ESEARCH MIN`},
		{`UIDX`, `ESEARCH UIDX without a value`},
		{`UID(`, `after ESEARCH UID`},
		{`X-FOO (a b`, `malformed ESEARCH X-FOO`},
		{`X-FOO "a"`, `malformed ESEARCH X-FOO`},
		{`X-FOO ` + strings.Repeat("(", 200) + strings.Repeat(")", 200), `nested deeper than`},
	}
	for _, tt := range tests {
		_, err := dataOf(tt.text).ESearch()
		requireDataError(t, err, tt.names, tt.text)
	}
}

// threadString writes threads back in the wire form of RFC 5256, a chain
// of single children as one list.
func threadString(threads []Thread) string {
	var b strings.Builder
	var list func(t Thread)
	list = func(t Thread) {
		b.WriteByte('(')
		for sep := ""; ; sep = " " {
			if t.Num != 0 {
				b.WriteString(sep + strconv.FormatUint(uint64(t.Num), 10))
			}
			if len(t.Children) != 1 || t.Num == 0 {
				break
			}
			t = t.Children[0]
		}
		if len(t.Children) > 0 && t.Num != 0 {
			b.WriteByte(' ')
		}
		for _, c := range t.Children {
			list(c)
		}
		b.WriteByte(')')
	}
	for _, t := range threads {
		list(t)
	}
	return b.String()
}

// threadNums lists the numbers of threads depth first.
func threadNums(threads []Thread) []uint32 {
	var nums []uint32
	for _, t := range threads {
		if t.Num != 0 {
			nums = append(nums, t.Num)
		}
		nums = append(nums, threadNums(t.Children)...)
	}
	return nums
}

// rfc5256Long is the long ORDEREDSUBJECT example of RFC 5256.
const rfc5256Long = "(166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)" +
	"(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))" +
	"(199)(200 202)(201)(203)(204)(205)(206 207)(208)"

func TestThreads(t *testing.T) {
	one := func(n uint32, children ...Thread) Thread { return Thread{Num: n, Children: children} }
	tests := []struct {
		text string
		want []Thread
	}{
		// RFC 5256.
		{"(2)(3 6 (4 23)(44 7 96))", []Thread{
			one(2),
			one(3, one(6, one(4, one(23)), one(44, one(7, one(96))))),
		}},
		{"(3 6 (4 23)(44 7 96))", []Thread{one(3, one(6, one(4, one(23)), one(44, one(7, one(96)))))}},
		{"", nil},
		{"((1)(2))", []Thread{one(0, one(1), one(2))}},
		{"((3)(5))(7)", []Thread{one(0, one(3), one(5)), one(7)}},
		{"(1 2 3)", []Thread{one(1, one(2, one(3)))}},
		{"(1 ((2)(3))(4))", []Thread{one(1, one(0, one(2), one(3)), one(4))}},
		{"(1 (2))", []Thread{one(1, one(2))}}, // one nested list: lenient
		{"(4294967295)", []Thread{one(4294967295)}},
	}
	for _, tt := range tests {
		got, err := dataOf(tt.text).Threads()
		require.NoError(t, err, tt.text)
		assert.Equal(t, tt.want, got, tt.text)
	}

	got, err := dataOf(rfc5256Long).Threads()
	require.NoError(t, err)
	require.Len(t, got, 25)
	assert.Equal(t, one(174, one(175), one(176), one(178), one(181), one(180)), got[8])
	assert.Equal(t, one(194, one(195)), got[15])
	assert.Equal(t, one(196, one(197), one(198)), got[16])
	nums := threadNums(got)
	slices.Sort(nums)
	want := make([]uint32, 0, 43)
	for n := uint32(166); n <= 208; n++ {
		want = append(want, n)
	}
	assert.Equal(t, want, nums, "every message once")
	assert.Equal(t, rfc5256Long, threadString(got))

	got, err = dataOf("(1)(2)", "(3 4)").Threads()
	require.NoError(t, err, "several THREAD responses")
	assert.Equal(t, []Thread{one(1), one(2), one(3, one(4))}, got)

	got, err = Result{Type: "OK", Data: noData()}.Threads()
	require.NoError(t, err)
	assert.Empty(t, got)

	// A long chain is no nesting.
	chain := make([]string, 5000)
	for i := range chain {
		chain[i] = strconv.Itoa(i + 1)
	}
	got, err = dataOf("(" + strings.Join(chain, " ") + ")").Threads()
	require.NoError(t, err)
	assert.Len(t, threadNums(got), 5000)

	// The deepest nesting allowed.
	deep := strings.Repeat("(", maxThreadNesting) + "1" + strings.Repeat(")", maxThreadNesting)
	got, err = dataOf(deep).Threads()
	require.NoError(t, err)
	assert.Equal(t, []uint32{1}, threadNums(got))
}

// badThreads are malformed THREAD data, with a piece of their error.
var badThreads = []struct{ text, err string }{
	{"(", "want a number at offset 1"},
	{")", `want '(' at offset 0`},
	{"()", "want a number at offset 1"},
	{"(1", `want a space or ")"`},
	{"(1 2", `want a space or ")"`},
	{"(1 ", "want a number at offset 3"},
	{"(1 )", "want a number at offset 3"},
	{"(1))", `want '(' at offset 3`},
	{"((1)", `want ')' at offset 4`},
	{"((1)(2)", `want ')' at offset 7`},
	{"(1)(", "want a number at offset 4"},
	{"(1) (2)", `want '(' at offset 3`},
	{"(0)", "want a non-zero number at offset 1"},
	{"(1 0)", "want a non-zero number at offset 3"},
	{"(4294967296)", "number 4294967296 out of range"},
	{"(a)", "want a number at offset 1"},
	{"(1,2)", `want a space or ")"`},
	{"(1  2)", "want a number at offset 3"},
	{"((1) 2)", `want ')' at offset 4`},
	{"(1 (2) 3)", `want ')' at offset 6`},
	{"1", `want '(' at offset 0`},
	{strings.Repeat("(", maxThreadNesting+1) + "1" + strings.Repeat(")", maxThreadNesting+1), "lists nested deeper than 1000 at offset 1000"},
	{strings.Repeat("(", 100000), "lists nested deeper than 1000 at offset 1000"},
}

func TestThreadsErrors(t *testing.T) {
	for _, tt := range badThreads {
		got, err := dataOf(tt.text).Threads()
		requireDataError(t, err, "Threads: malformed THREAD data: protocol error: "+tt.err, tt.text)
		assert.Nil(t, got, truncate(tt.text))
	}
}

func TestVanished(t *testing.T) {
	tests := []struct {
		res  Result
		want string
	}{
		// RFC 7162 (QRESYNC).
		{dataOf("(EARLIER) 41,43:116,118,120:211,214:540"), "41,43:116,118,120:211,214:540"},
		{dataOf("(EARLIER) 300:310,405,411"), "300:310,405,411"},
		{dataOf("405,407,410,425"), "405,407,410,425"},
		{dataOf("(EARLIER) 41,43:116", "405,407,410"), "41,43:116,405,407,410"},
		{dataOf("(earlier) 5:3"), "3:5"},
		{dataOf("3", "3", "5"), "3,3,5"},
		{Result{Type: "OK", Data: noData()}, ""},
	}
	for _, tt := range tests {
		got, err := tt.res.Vanished()
		require.NoError(t, err, "%v", tt.res.Data)
		assert.Equal(t, tt.want, got.String(), "%v", tt.res.Data)
	}
	got, err := dataOf("405,407,410").Vanished()
	require.NoError(t, err)
	assert.Equal(t, NumSet{{405, 405}, {407, 407}, {410, 410}}, got)
}

func TestVanishedErrors(t *testing.T) {
	tests := []struct{ text, names string }{
		{"(EARLIER)", `Vanished: after (EARLIER): protocol error: want ' ' at offset 9`},
		{"(EARLIER 41", `Vanished: protocol error: want (EARLIER) at offset 0`},
		{"(LATER) 41", `Vanished: protocol error: want (EARLIER) at offset 0`},
		{"() 41", `want (EARLIER)`},
		{"(EARLIER)41", `want (EARLIER)`},
		{"(EARLIER) ", `Vanished: malformed UID set: protocol error: want a number at offset 10`},
		{"41,", `malformed UID set: protocol error: want a number at offset 3`},
		{"1:", `want a number at offset 2`},
		{":", `want a number at offset 0`},
		{"0", `want a non-zero number`},
		{"4294967296", `out of range`},
		{"41 43", `want "," or the end of the set at offset 2`},
		{"(EARLIER) 41 (x)", `want "," or the end of the set at offset 12`},
	}
	for _, tt := range tests {
		got, err := dataOf(tt.text).Vanished()
		requireDataError(t, err, tt.names, tt.text)
		assert.Nil(t, got, tt.text)
	}
}

// searchSeeds are the inputs of the tests above, for the fuzzers.
func searchSeeds() []string {
	seeds := []string{"", "2 84 882", "2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)", "61 62 63 ",
		`(TAG "A287") UID ALL 4:6,11:13`, `(TAG "A285") UID MIN 7 MAX 3800`, `(TAG "A1") UID PARTIAL (-1:-100 200:250,252:300) COUNT 400`,
		"(EARLIER) 41,43:116,118,120:211,214:540", "405,407,410,425",
		"(2)(3 6 (4 23)(44 7 96))", "((1)(2))", rfc5256Long}
	for _, tt := range badThreads {
		seeds = append(seeds, tt.text)
	}
	return seeds
}

func FuzzThreads(f *testing.F) {
	for _, s := range searchSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		start := time.Now()
		threads, err := dataOf(text).Threads()
		require.Less(t, time.Since(start), time.Second, "%q", text)
		if err != nil {
			return
		}
		again, err := dataOf(threadString(threads)).Threads()
		require.NoError(t, err, "%q printed as %q", text, threadString(threads))
		require.Equal(t, threads, again, "%q printed as %q", text, threadString(threads))
	})
}

// FuzzSearchData runs the other readers of this file on any data: they
// never panic, and what they accept makes sense.
func FuzzSearchData(f *testing.F) {
	for _, s := range searchSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		res := dataOf(text)
		if nums, err := res.Nums(); err == nil {
			require.NotContains(t, nums, uint32(0), "%q", text)
		}
		if e, err := res.ESearch(); err == nil && len(e.All) > 0 {
			all, err := ParseNumSet(e.All.String())
			require.NoError(t, err, "%q", text)
			require.Equal(t, e.All, all, "%q", text)
		}
		if set, err := res.Vanished(); err == nil && len(set) > 0 {
			again, err := ParseNumSet(set.String())
			require.NoError(t, err, "%q", text)
			require.Equal(t, set, again, "%q", text)
		}
	})
}
