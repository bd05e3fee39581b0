package imaplib2

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// A NumRange is one range of message numbers or UIDs, from Start to Stop.
// Zero stands for "*", the largest number in use in the mailbox; a range
// whose Start equals its Stop holds one number.
//
//	NumRange{7, 7}  // 7
//	NumRange{2, 4}  // 2:4
//	NumRange{9, 0}  // 9:*
//	NumRange{0, 0}  // *
type NumRange struct{ Start, Stop uint32 }

// A NumSet is a set of message numbers or UIDs as IMAP writes it: a list
// of ranges, in the order they were given (RFC 3501 sequence-set). The
// ranges may overlap; the set is their union.
//
// The zero NumSet is empty. Its String is "", which is not valid on the
// wire: a command needs at least one number.
type NumSet []NumRange

// maxNums is the most numbers NumSet.Nums lists: 16,777,216, which take
// 64 MiB. A larger set, such as "1:4000000000", is refused rather than
// allocated.
const maxNums = 1 << 24

// NumSetOf returns the smallest set holding nums: they are sorted, their
// duplicates dropped and their runs merged into ranges, so that 7, 1, 2,
// 3, 2 gives "1:3,7". A 0 among nums stands for "*" and comes last.
func NumSetOf(nums ...uint32) NumSet {
	sorted := slices.Clone(nums)
	slices.SortFunc(sorted, func(a, b uint32) int { return cmp.Compare(starLast(a), starLast(b)) })
	var set NumSet
	for _, n := range sorted {
		last := len(set) - 1
		switch {
		case last >= 0 && set[last].Stop == n:
			// a duplicate
		case last >= 0 && n != 0 && set[last].Stop+1 == n:
			set[last].Stop = n
		default:
			set = append(set, NumRange{n, n})
		}
	}
	return set
}

// bound is a number of a range with "*" above every other: the order in
// which a range's ends are compared.
type bound uint64

// starLast returns n as a bound: 0 ("*") becomes the largest.
func starLast(n uint32) bound {
	if n == 0 {
		return 1 << 32
	}
	return bound(n)
}

// ParseNumSet parses a set in the wire form of RFC 3501, such as
// "1:3,7,9:*". Each range is stored low end first, "*" counting as the
// largest number: "4:2" gives NumRange{2, 4} and "*:4" gives NumRange{4,
// 0}. The ranges keep the order of s and are not merged, so that
// ParseNumSet(s) prints back as s once its ranges are turned around.
//
// The error of a malformed set, such as "", "1:", "0" or "4294967296",
// quotes s and says where it went wrong. The largest number that parses
// is 4294967294: the decoder keeps 4294967295 for "*".
func ParseNumSet(s string) (NumSet, error) {
	set, err := readNumSet(newTextDecoder(s))
	if err != nil {
		return nil, newError(ErrError, "", "ParseNumSet", err)
	}
	return set, nil
}

// readNumSet reads a sequence set that ends what dec reads.
func readNumSet(dec *decoder) (NumSet, error) {
	ranges, err := dec.seqSet()
	if err == nil && !dec.atEnd() {
		err = dec.errorf("want \",\" or the end of the set")
	}
	if err != nil {
		return nil, err
	}
	return numSetOfRanges(ranges), nil
}

// numSetOfRanges converts a sequence set the decoder read, with seqStar
// for "*", to a NumSet, with 0 for "*".
func numSetOfRanges(ranges seqRanges) NumSet {
	set := make(NumSet, len(ranges))
	star := func(n uint32) uint32 {
		if n == seqStar {
			return 0
		}
		return n
	}
	for i, r := range ranges {
		set[i] = NumRange{star(r.Lo), star(r.Hi)}
	}
	return set
}

// String returns the set in the wire form, its ranges in order and
// separated by commas: "1:3,7,9:*". A range is written Start first, as it
// is stored.
func (s NumSet) String() string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		writeNum(&b, r.Start)
		if r.Stop != r.Start {
			b.WriteByte(':')
			writeNum(&b, r.Stop)
		}
	}
	return b.String()
}

// writeNum writes n, or "*" for 0.
func writeNum(b *strings.Builder, n uint32) {
	if n == 0 {
		b.WriteByte('*')
		return
	}
	var digits [10]byte
	b.Write(strconv.AppendUint(digits[:0], uint64(n), 10))
}

// ends returns the ends of r as bounds, lower first, whichever order r
// stores them in.
func (r NumRange) ends() (lo, hi bound) {
	lo, hi = starLast(r.Start), starLast(r.Stop)
	return min(lo, hi), max(lo, hi)
}

// Contains reports whether n is in the set. Since the set does not know
// the largest number in use, a lone "*" contains nothing, and "5:*"
// contains 5 and every number above it. Contains(0) is false.
func (s NumSet) Contains(n uint32) bool {
	if n == 0 {
		return false
	}
	for _, r := range s {
		if lo, hi := r.ends(); lo <= bound(n) && bound(n) <= hi {
			return true
		}
	}
	return false
}

// Nums lists every number of the set: range by range in the order of the
// set, each range in ascending order, with the numbers that ranges share
// listed once for each. It reports false, and lists nothing, if the set
// holds "*" (whose value the set does not know) or more than 16,777,216
// numbers in all.
func (s NumSet) Nums() ([]uint32, bool) {
	var total uint64
	for _, r := range s {
		if r.Start == 0 || r.Stop == 0 {
			return nil, false
		}
		lo, hi := r.ends()
		total += uint64(hi - lo + 1)
		if total > maxNums {
			return nil, false
		}
	}
	nums := make([]uint32, 0, total)
	for _, r := range s {
		lo, hi := r.ends()
		for n := lo; n <= hi; n++ {
			nums = append(nums, uint32(n))
		}
	}
	return nums, true
}
