package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/models"
)

func newModelsCmd() *cobra.Command {
	var card string
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the models shipped in the binary (or print one's model card with --card NAME)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if card != "" {
				c, err := models.Card(card)
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(cmd.OutOrStdout(), c)
				return err
			}
			ms, err := models.List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSIZE\tDEFAULT\tABOUT")
			for _, m := range ms {
				def := ""
				if m.Name == models.Default {
					def = "yes"
				}
				fmt.Fprintf(tw, "%s\t%.1f MB\t%s\t%s\n", m.Name, float64(m.Bytes)/1e6, def, m.About)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&card, "card", "", "print the model card of this shipped model")
	return cmd
}
