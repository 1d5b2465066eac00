/**
 * Prometheus remote write 1.0's messages (package `prometheus`, files prompb/types.proto and
 * prompb/remote.proto of the Prometheus repository), only the ones a writer sends: a WriteRequest
 * of TimeSeries, each with sorted labels and float samples or native histograms. Field numbers
 * and types follow Prometheus' definitions; the gogoproto options (Go code generation only) are
 * left out, and Exemplar and the read messages are not needed. Histogram's integer form:
 * `count_int`, `zero_count_int` and `positive_deltas` (the float fields stay unset).
 */

import protobuf from 'protobufjs'

const PROMPB_PROTO = `
syntax = "proto3";
package prometheus;

message WriteRequest {
  repeated TimeSeries timeseries = 1;
  reserved 2;
  repeated MetricMetadata metadata = 3;
}

message MetricMetadata {
  enum MetricType {
    UNKNOWN = 0;
    COUNTER = 1;
    GAUGE = 2;
    HISTOGRAM = 3;
    GAUGEHISTOGRAM = 4;
    SUMMARY = 5;
    INFO = 6;
    STATESET = 7;
  }
  MetricType type = 1;
  string metric_family_name = 2;
  string help = 4;
  string unit = 5;
}

message Sample {
  double value = 1;
  int64 timestamp = 2;
}

message Histogram {
  enum ResetHint {
    UNKNOWN = 0;
    YES = 1;
    NO = 2;
    GAUGE = 3;
  }
  oneof count {
    uint64 count_int = 1;
    double count_float = 2;
  }
  double sum = 3;
  sint32 schema = 4;
  double zero_threshold = 5;
  oneof zero_count {
    uint64 zero_count_int = 6;
    double zero_count_float = 7;
  }
  repeated BucketSpan negative_spans = 8;
  repeated sint64 negative_deltas = 9;
  repeated double negative_counts = 10;
  repeated BucketSpan positive_spans = 11;
  repeated sint64 positive_deltas = 12;
  repeated double positive_counts = 13;
  ResetHint reset_hint = 14;
  int64 timestamp = 15;
}

message BucketSpan {
  sint32 offset = 1;
  uint32 length = 2;
}

message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
  repeated Histogram histograms = 4;
}

message Label {
  string name = 1;
  string value = 2;
}
`

const root = protobuf.parse(PROMPB_PROTO, { keepCase: true }).root

/** `prometheus.WriteRequest`, to encode (and, in tests, decode) a request body. */
export const WriteRequest = root.lookupType('prometheus.WriteRequest')

export interface PromLabel {
  readonly name: string
  readonly value: string
}

export interface PromSample {
  readonly value: number
  readonly timestamp: number
}

export interface PromHistogram {
  readonly count_int: number
  readonly sum: number
  readonly schema: number
  readonly zero_threshold: number
  readonly zero_count_int: number
  readonly positive_spans: readonly { readonly offset: number; readonly length: number }[]
  readonly positive_deltas: readonly number[]
  /** 0: unknown, Prometheus looks for a counter reset itself. */
  readonly reset_hint: number
  readonly timestamp: number
}

export interface PromTimeSeries {
  /** Sorted by name, `__name__` among them. */
  readonly labels: readonly PromLabel[]
  readonly samples?: readonly PromSample[]
  readonly histograms?: readonly PromHistogram[]
}

export const METRIC_TYPE = { COUNTER: 1, GAUGE: 2, HISTOGRAM: 3 } as const

export interface PromMetadata {
  readonly type: (typeof METRIC_TYPE)[keyof typeof METRIC_TYPE]
  readonly metric_family_name: string
  readonly help: string
  readonly unit: string
}

/** The protobuf bytes of a WriteRequest (before snappy). */
export function encodeWriteRequest(
  timeseries: readonly PromTimeSeries[],
  metadata: readonly PromMetadata[] = [],
): Uint8Array {
  const message = WriteRequest.fromObject({ timeseries, metadata })
  return WriteRequest.encode(message).finish()
}
