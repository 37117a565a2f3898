// Command toxiproxy-dev runs Shopify's Toxiproxy (github.com/Shopify/toxiproxy/v2)
// embedded in one small binary: a TCP proxy whose links the fault tests cut, stall
// and restore through its HTTP API, so MongoDB and RabbitMQ outages are real
// network faults seen by the real drivers (e2e/faults).
//
// The API listens on -listen (port 0 picks a free port); once it accepts, the
// binary prints one line to stdout: `ready http://<host:port>`, so a parent that
// asked for port 0 learns the port it got. With -exit-on-stdin-close it also stops
// when its stdin closes (the parent died without sending SIGTERM), like
// tools/ferretdb's dev server, so no orphan keeps proxies listening.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address for the HTTP API (port 0 picks a free port)")
	logLevel := flag.String("log-level", "warn", "zerolog level: debug, info, warn or error")
	exitOnStdinClose := flag.Bool("exit-on-stdin-close", false, "stop when stdin reaches EOF (parent process gone)")
	flag.Parse()

	level, err := zerolog.ParseLevel(*logLevel)
	if err != nil {
		fatal("bad -log-level: %v", err)
	}
	logger := zerolog.New(os.Stderr).Level(level).With().Timestamp().Logger()

	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), logger)

	// ApiServer.Listen takes an address and never reports the port it bound, so the
	// listener is opened here and the API's routes are served on it.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fatal("cannot listen on %s: %v", *listen, err)
	}
	httpServer := &http.Server{Handler: api.Routes(), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *exitOnStdinClose {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(ln) }()
	fmt.Printf("ready http://%s\n", ln.Addr().String())

	select {
	case <-ctx.Done():
	case err = <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			fatal("API server stopped: %v", err)
		}
	}
	// Proxies hold listeners of their own; removing them closes those too.
	api.Collection.Clear()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = httpServer.Shutdown(shutdownCtx)
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "toxiproxy-dev: "+format+"\n", args...)
	os.Exit(1)
}
