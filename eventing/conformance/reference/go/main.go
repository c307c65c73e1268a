// Reference program for `pnpm test:conformance`: evaluates CESQL expressions with cloudevents/sdk-go
// sql/v2 and Trigger filters with Knative's own code (knative.dev/eventing pkg/eventfilter, the Trigger
// webhook validation of pkg/apis/eventing/v1, and the MT broker filter handler's choice between
// `filters` and `filter`). It reads one JSON case per line on stdin and writes one JSON answer per line.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	sqlerrors "github.com/cloudevents/sdk-go/sql/v2/errors"
	cesqlparser "github.com/cloudevents/sdk-go/sql/v2/parser"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.uber.org/zap"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"
)

type request struct {
	Op         string                              `json:"op"`
	Expression string                              `json:"expression"`
	Event      json.RawMessage                     `json:"event"`
	Filter     *eventingv1.TriggerFilter           `json:"filter"`
	Filters    []eventingv1.SubscriptionsAPIFilter `json:"filters"`
}

type response struct {
	// cesql
	ParseError bool        `json:"parseError,omitempty"`
	Value      interface{} `json:"value"`
	ErrorKind  string      `json:"errorKind,omitempty"`
	Message    string      `json:"message,omitempty"`
	// filter
	Valid      *bool  `json:"valid,omitempty"`
	Validation string `json:"validation,omitempty"`
	Result     string `json:"result,omitempty"`
	// both
	Panic string `json:"panic,omitempty"`
	Bad   string `json:"bad,omitempty"`
}

func errorKind(err error) string {
	switch {
	case sqlerrors.IsParseError(err):
		return "parse"
	case sqlerrors.IsMathError(err):
		return "math"
	case sqlerrors.IsCastError(err):
		return "cast"
	case sqlerrors.IsMissingFunctionError(err):
		return "missingFunction"
	case sqlerrors.IsFunctionEvaluationError(err):
		return "functionEvaluation"
	case sqlerrors.IsMissingAttributeError(err):
		return "missingAttribute"
	default:
		return "generic"
	}
}

func readEvent(raw json.RawMessage) (cloudevents.Event, error) {
	event := cloudevents.NewEvent()
	if len(raw) == 0 {
		return event, fmt.Errorf("no event")
	}
	err := json.Unmarshal(raw, &event)
	return event, err
}

func evalCesql(req request) (res response) {
	defer func() {
		if r := recover(); r != nil {
			res = response{Panic: fmt.Sprint(r)}
		}
	}()
	expr, err := cesqlparser.Parse(req.Expression)
	if err != nil {
		return response{ParseError: true, Message: err.Error()}
	}
	event, err := readEvent(req.Event)
	if err != nil {
		return response{Bad: err.Error()}
	}
	var value interface{}
	value, err = expr.Evaluate(event)
	res = response{Value: value}
	if _, ok := value.(int32); ok {
		res.Value = value.(int32)
	}
	if err != nil {
		res.ErrorKind = errorKind(err)
		res.Message = err.Error()
	}
	return res
}

func evalFilter(req request) (res response) {
	defer func() {
		if r := recover(); r != nil {
			res = response{Panic: fmt.Sprint(r)}
		}
	}()
	ctx := context.Background()
	// The Trigger webhook (TriggerSpec.Validate, the filter parts).
	errs := eventingv1.ValidateAttributeFilters(req.Filter).ViaField("filter").
		Also(eventingv1.ValidateSubscriptionAPIFiltersList(ctx, req.Filters).ViaField("filters"))
	valid := errs == nil
	res.Valid = &valid
	if errs != nil {
		res.Validation = errs.Error()
		return res
	}
	event, err := readEvent(req.Event)
	if err != nil {
		return response{Bad: err.Error()}
	}
	// pkg/broker/filter/filter_handler.go filterEvent.
	var filter eventfilter.Filter
	switch {
	case len(req.Filters) > 0:
		filter = subscriptionsapi.CreateSubscriptionsAPIFilters(zap.NewNop(), req.Filters)
	case req.Filter != nil:
		filter = attributes.NewAttributesFilter(req.Filter.Attributes)
	default:
		filter = subscriptionsapi.NewNoFilter()
	}
	res.Result = filter.Filter(ctx, event).String()
	cleanup(filter)
	return res
}

// cleanup stops the goroutines of all/any filters. Knative's notFilter.Cleanup dereferences a skipped inner
// filter (nil) and panics; that happens when a Trigger is deleted, not while filtering, so it is ignored here.
func cleanup(filter eventfilter.Filter) {
	defer func() { _ = recover() }()
	filter.Cleanup()
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, readErr := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req request
			var res response
			if err := json.Unmarshal(line, &req); err != nil {
				res = response{Bad: err.Error()}
			} else if req.Op == "cesql" {
				res = evalCesql(req)
			} else if req.Op == "filter" {
				res = evalFilter(req)
			} else {
				res = response{Bad: "unknown op " + req.Op}
			}
			if err := enc.Encode(res); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		// Answer as soon as no more input is waiting (the client pipelines its requests).
		if in.Buffered() == 0 {
			out.Flush()
		}
		if readErr == io.EOF {
			return
		}
		if readErr != nil {
			fmt.Fprintln(os.Stderr, readErr)
			os.Exit(1)
		}
	}
}
