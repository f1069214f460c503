package exporters

import "reflect"

// DefaultMaxShardBytes is the default bound on a shard's estimated size,
// as Hugging Face's max_shard_size default: 500 MB.
const DefaultMaxShardBytes = 500_000_000

// A ShardRange is the half-open range [Start, End) of items, in the
// caller's order, that go into one shard.
type ShardRange struct {
	Start, End int
}

// Len returns the number of items in the range.
func (r ShardRange) Len() int { return r.End - r.Start }

// PlanShards cuts a list of items, given by their estimated sizes in bytes
// and already in their final (id-sorted) order, into contiguous shards
// whose total estimated size stays at or under maxBytes. An item is never
// split: one larger than maxBytes gets a shard of its own. A maxBytes of
// zero or less means DefaultMaxShardBytes. It returns no shard for no
// items and at least one for any items; the ranges cover every item in
// order.
func PlanShards(sizes []int64, maxBytes int64) []ShardRange {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxShardBytes
	}
	var plan []ShardRange
	start, total := 0, int64(0)
	for i, size := range sizes {
		size = max(size, 0)
		if i > start && total+size > maxBytes {
			plan = append(plan, ShardRange{start, i})
			start, total = i, 0
		}
		total += size
	}
	if start < len(sizes) {
		plan = append(plan, ShardRange{start, len(sizes)})
	}
	return plan
}

// EstimateBytes estimates the size a row takes in a shard before
// compression: the lengths of its strings and byte slices plus the widths
// of its numbers, over every nested struct and slice. It is what
// PlanShards expects as an item's size. Images dominate a trajectory's
// size and barely compress, so the estimate is close for them.
func EstimateBytes[T any](row *T) int64 {
	return estimate(reflect.ValueOf(row).Elem())
}

func estimate(v reflect.Value) int64 {
	switch v.Kind() {
	case reflect.String:
		return int64(v.Len())
	case reflect.Bool, reflect.Int8, reflect.Uint8:
		return 1
	case reflect.Int16, reflect.Uint16:
		return 2
	case reflect.Int32, reflect.Uint32, reflect.Float32:
		return 4
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Float64:
		return 8
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return int64(v.Len())
		}
		var n int64
		for i := range v.Len() {
			n += estimate(v.Index(i))
		}
		return n
	case reflect.Struct:
		var n int64
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n += estimate(v.Field(i))
			}
		}
		return n
	case reflect.Pointer:
		if v.IsNil() {
			return 0
		}
		return estimate(v.Elem())
	}
	return 0
}
