package main
import (
 _ "github.com/openai/openai-go/v3"
 _ "github.com/spf13/cobra"
 _ "modernc.org/sqlite"
 _ "github.com/vbauerster/mpb/v8"
 _ "github.com/goccy/go-yaml"
 _ "golang.org/x/sync/errgroup"
 _ "golang.org/x/time/rate"
)
func main(){}
