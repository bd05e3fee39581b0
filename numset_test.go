package imaplib2

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// numSetCases are sets in the wire form with the set they parse to and
// the form that set prints in: the input with each range low end first.
var numSetCases = []struct {
	in   string
	want NumSet
	out  string
}{
	{"1", NumSet{{1, 1}}, "1"},
	{"*", NumSet{{0, 0}}, "*"},
	{"1:3,7,9:*", NumSet{{1, 3}, {7, 7}, {9, 0}}, "1:3,7,9:*"},
	{"4:2", NumSet{{2, 4}}, "2:4"},
	{"*:4", NumSet{{4, 0}}, "4:*"},
	{"*:*", NumSet{{0, 0}}, "*"},
	{"5:5", NumSet{{5, 5}}, "5"},
	{"9,1,5", NumSet{{9, 9}, {1, 1}, {5, 5}}, "9,1,5"}, // order kept
	{"1:5,3:8", NumSet{{1, 5}, {3, 8}}, "1:5,3:8"},     // not merged
	{"4294967294", NumSet{{4294967294, 4294967294}}, "4294967294"},
	// RFC 3501 §9, sequence-set: "2,4:7,9,12:*" is 2,4,5,6,7,9,12,13,14
	// in a mailbox of 15 messages.
	{"2,4:7,9,12:*", NumSet{{2, 2}, {4, 7}, {9, 9}, {12, 0}}, "2,4:7,9,12:*"},
	// RFC 3501 §6.4.8: the set of the UID FETCH example, and a plain range.
	{"1:50", NumSet{{1, 50}}, "1:50"},
	{"4827313:4828442", NumSet{{4827313, 4828442}}, "4827313:4828442"},
	// RFC 7162: the UID set of a VANISHED example.
	{"41,43:116,118,120:211,214:540", NumSet{{41, 41}, {43, 116}, {118, 118}, {120, 211}, {214, 540}},
		"41,43:116,118,120:211,214:540"},
}

// badNumSets are malformed sets, each with a piece of the error that
// ParseNumSet must give.
var badNumSets = []struct{ in, err string }{
	{"", `want a number at offset 0 of ""`},
	{"1:", `want a number at offset 2 of "1:"`},
	{":", `want a number at offset 0 of ":"`},
	{":5", `want a number at offset 0 of ":5"`},
	{"0", `want a non-zero number at offset 0 of "0"`},
	{"0:5", `want a non-zero number`},
	{"07", `want a non-zero number`},
	{"4294967295", `number out of range`},
	{"4294967296", `number 4294967296 out of range at offset 10 of "4294967296"`},
	{"99999999999999999999", `number too large`},
	{"1,", `want a number at offset 2 of "1,"`},
	{",1", `want a number at offset 0`},
	{"1,,2", `want a number at offset 2`},
	{"1 2", `want "," or the end of the set at offset 1 of "1 2"`},
	{"1:2:3", `want "," or the end of the set at offset 3`},
	{" 1", `want a number at offset 0`},
	{"1 ", `at offset 1 of "1 "`},
	{"-1", `want a number`},
	{"1:-2", `want a number at offset 2`},
	{"**", `want "," or the end of the set at offset 1`},
	{"a", `want a number at offset 0 of "a"`},
	{"(1)", `want a number`},
}

func TestParseNumSet(t *testing.T) {
	for _, tt := range numSetCases {
		got, err := ParseNumSet(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		assert.Equal(t, tt.out, got.String(), tt.in)
		again, err := ParseNumSet(got.String())
		require.NoError(t, err, tt.in)
		assert.Equal(t, got, again, "%q: round trip", tt.in)
	}
}

func TestParseNumSetErrors(t *testing.T) {
	for _, tt := range badNumSets {
		got, err := ParseNumSet(tt.in)
		require.Error(t, err, "%q parsed as %v", tt.in, got)
		assert.Nil(t, got, tt.in)
		assert.Contains(t, err.Error(), "ParseNumSet", tt.in)
		assert.Contains(t, err.Error(), tt.err, tt.in)
		assert.ErrorIs(t, err, ErrError, tt.in)
		var e *Error
		assert.True(t, errors.As(err, &e), tt.in)
	}
}

func TestNumSetOf(t *testing.T) {
	tests := []struct {
		nums []uint32
		want string
	}{
		{nil, ""},
		{[]uint32{5}, "5"},
		{[]uint32{1, 2, 3, 7}, "1:3,7"},
		{[]uint32{7, 3, 1, 2}, "1:3,7"},
		{[]uint32{2, 2, 2}, "2"},
		{[]uint32{3, 1, 2, 3, 1}, "1:3"},
		{[]uint32{10, 12, 11, 14, 1}, "1,10:12,14"},
		{[]uint32{0}, "*"},
		{[]uint32{0, 5, 4, 0}, "4:5,*"},
		{[]uint32{4294967295, 4294967294, 0}, "4294967294:4294967295,*"},
		{[]uint32{1, 3, 5}, "1,3,5"},
	}
	for _, tt := range tests {
		set := NumSetOf(tt.nums...)
		assert.Equal(t, tt.want, set.String(), "%v", tt.nums)
	}
	nums := []uint32{3, 2, 1}
	NumSetOf(nums...)
	assert.Equal(t, []uint32{3, 2, 1}, nums, "NumSetOf must not sort its argument")
	assert.Equal(t, NumSet{{1, 3}, {7, 7}}, NumSetOf(1, 2, 3, 7))
	assert.Equal(t, NumSet{{4, 5}, {0, 0}}, NumSetOf(5, 0, 4))
}

func TestNumSetString(t *testing.T) {
	assert.Equal(t, "", NumSet(nil).String())
	assert.Equal(t, "", NumSet{}.String())
	assert.Equal(t, "5:2", NumSet{{5, 2}}.String(), "a range prints as stored")
	assert.Equal(t, "*:3", NumSet{{0, 3}}.String())
	assert.Equal(t, "4294967295", NumSet{{4294967295, 4294967295}}.String())
}

func TestNumSetContains(t *testing.T) {
	set, err := ParseNumSet("2,4:7,12:*")
	require.NoError(t, err)
	for n, want := range map[uint32]bool{
		0: false, 1: false, 2: true, 3: false, 4: true, 5: true, 7: true, 8: false,
		11: false, 12: true, 13: true, 4294967295: true,
	} {
		assert.Equal(t, want, set.Contains(n), "%s contains %d", set, n)
	}
	star := NumSet{{0, 0}}
	for _, n := range []uint32{0, 1, 4294967295} {
		assert.False(t, star.Contains(n), `"*" contains %d`, n)
	}
	assert.False(t, NumSet(nil).Contains(1))
	assert.True(t, NumSet{{9, 3}}.Contains(5), "a range stored high end first")
	assert.True(t, NumSet{{0, 5}}.Contains(6), "*:5 is 5:*")
	assert.False(t, NumSet{{0, 5}}.Contains(4))
	assert.True(t, NumSet{{1, 4294967295}}.Contains(4294967295))
}

func TestNumSetNums(t *testing.T) {
	tests := []struct {
		set  NumSet
		want []uint32
		ok   bool
	}{
		{nil, []uint32{}, true},
		{NumSet{{3, 3}}, []uint32{3}, true},
		{NumSet{{9, 9}, {1, 3}}, []uint32{9, 1, 2, 3}, true},
		{NumSet{{5, 2}}, []uint32{2, 3, 4, 5}, true},
		{NumSet{{1, 3}, {2, 4}}, []uint32{1, 2, 3, 2, 3, 4}, true},
		{NumSet{{4294967294, 4294967295}}, []uint32{4294967294, 4294967295}, true},
		{NumSet{{1, 3}, {0, 0}}, nil, false},
		{NumSet{{5, 0}}, nil, false},
		{NumSet{{0, 5}}, nil, false},
		{NumSet{{1, 4294967295}}, nil, false},
		{NumSet{{1, maxNums + 1}}, nil, false},
		{NumSet{{1, maxNums / 2}, {1, maxNums/2 + 1}}, nil, false},
	}
	for _, tt := range tests {
		got, ok := tt.set.Nums()
		assert.Equal(t, tt.ok, ok, "%s", tt.set)
		assert.Equal(t, tt.want, got, "%s", tt.set)
	}
	got, ok := NumSet{{1, maxNums}}.Nums()
	require.True(t, ok, "the limit itself")
	assert.Len(t, got, maxNums)
	assert.Equal(t, uint32(maxNums), got[len(got)-1])
}

func FuzzParseNumSet(f *testing.F) {
	for _, tt := range numSetCases {
		f.Add(tt.in)
	}
	for _, tt := range badNumSets {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseNumSet(s)
		if err != nil {
			require.Nil(t, set, "%q", s)
			return
		}
		require.NotEmpty(t, set, "%q", s)
		out := set.String()
		again, err := ParseNumSet(out)
		require.NoError(t, err, "%q printed as %q", s, out)
		require.Equal(t, set, again, "%q printed as %q", s, out)
		for _, r := range set {
			require.LessOrEqual(t, starLast(r.Start), starLast(r.Stop), "%q: range %v", s, r)
			require.Equal(t, r.Start != 0, set.Contains(r.Start), "%q: %v", s, r)
		}
	})
}
