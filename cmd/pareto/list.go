package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/dataset"
	"github.com/pareto-llm/pareto/strategy"
)

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List strategies and built-in datasets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STRATEGY\tBUDGET\tSCORER\tDESCRIPTION")
			for _, n := range strategy.Names() {
				s, _ := strategy.Lookup(n)
				budget, scorer := "-", "-"
				if s.Budget != "" {
					budget = string(s.Budget)
				}
				if s.Scored {
					scorer = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n, budget, scorer, s.About)
			}
			fmt.Fprintln(tw, "\nDATASET\t\t\tDESCRIPTION")
			about := dataset.Names()
			for _, n := range dataset.SortedNames() {
				fmt.Fprintf(tw, "%s\t\t\t%s\n", n, about[n])
			}
			return tw.Flush()
		},
	}
}
