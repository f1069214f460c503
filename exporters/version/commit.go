package version

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
)

// Finish completes a manifest whose shards, statistics and seed counts
// are gathered: each config's shards sorted by path, the sft config left
// out when its shards hold no row (an empty mix writes empty shards), the
// accepted, rejected and failed counts taken from the shards' rows, and
// the failed count recorded among the verdict statistics.
func Finish(m *exporters.Manifest) {
	for config, shards := range m.Shards {
		slices.SortFunc(shards, func(a, b exporters.ShardInfo) int { return cmp.Compare(a.Path, b.Path) })
		m.Shards[config] = shards
	}
	if m.Rows(exporters.ConfigSFT) == 0 {
		delete(m.Shards, exporters.ConfigSFT)
	}
	m.Counts.Accepted = m.Rows(exporters.ConfigTrajectories)
	m.Counts.Rejected = m.Rows(exporters.ConfigRejected)
	m.Counts.Failed = m.Rows(exporters.ConfigFailed)
	if m.Counts.Failed > 0 {
		if m.Stats.Verdicts == nil {
			m.Stats.Verdicts = map[string]int64{}
		}
		m.Stats.Verdicts[schema.StatusFailed] = m.Counts.Failed
	}
}

// MergeModels adds to into the models of more it lacks and returns it
// sorted by role, then model.
func MergeModels(into, more []schema.RoleModel) []schema.RoleModel {
	for _, m := range more {
		if !slices.Contains(into, m) {
			into = append(into, m)
		}
	}
	slices.SortFunc(into, func(a, b schema.RoleModel) int {
		return cmp.Or(cmp.Compare(a.Role, b.Role), cmp.Compare(a.Model, b.Model))
	})
	return into
}

// MergeTemplates adds to into the templates of more it lacks and returns
// it sorted by role, then id.
func MergeTemplates(into, more []schema.TemplateRef) []schema.TemplateRef {
	for _, t := range more {
		if !slices.Contains(into, t) {
			into = append(into, t)
		}
	}
	slices.SortFunc(into, func(a, b schema.TemplateRef) int { return cmp.Or(cmp.Compare(a.Role, b.Role), cmp.Compare(a.ID, b.ID)) })
	return into
}

// Commit makes the version under prefix in bucket the one m describes,
// once its shards are written: it removes what m does not list (shards
// and temporary files an interrupted or overwritten earlier run left),
// writes the dataset card and the statistics, and writes the manifest
// last, which commits the version.
func Commit(ctx context.Context, bucket *blob.Bucket, prefix string, m *exporters.Manifest) error {
	if err := removeUnlisted(ctx, bucket, prefix, m); err != nil {
		return err
	}
	if err := exporters.WriteCard(ctx, bucket, prefix, m); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := exporters.WriteStats(ctx, bucket, prefix, m); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := exporters.WriteManifest(ctx, bucket, prefix, m); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// removeUnlisted deletes the objects under the version that m does not
// list: shards of each config's folder, and files at the version's top
// level other than the card, the statistics and the manifest (which the
// commit rewrites), such as the temporary file of an upload killed
// mid-write. Folders other than the configs' (the staging area) are left
// alone.
func removeUnlisted(ctx context.Context, b *blob.Bucket, prefix string, m *exporters.Manifest) error {
	listed := map[string]bool{}
	for _, shards := range m.Shards {
		for _, s := range shards {
			listed[exporters.Key(prefix, s.Path)] = true
		}
	}
	top := b.List(&blob.ListOptions{Prefix: prefix + "/", Delimiter: "/"})
	for {
		obj, err := top.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("commit: list %s: %w", prefix, err)
		}
		switch path.Base(obj.Key) {
		case exporters.CardFile, exporters.StatsFile, exporters.ManifestFile:
			continue
		}
		if !obj.IsDir {
			if err := b.Delete(ctx, obj.Key); err != nil {
				return fmt.Errorf("commit: remove stale %s: %w", obj.Key, err)
			}
		}
	}
	for _, l := range exporters.Layouts() {
		it := b.List(&blob.ListOptions{Prefix: prefix + "/" + l.Dir + "/"})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("commit: list %s: %w", l.Dir, err)
			}
			if !listed[obj.Key] && !obj.IsDir {
				if err := b.Delete(ctx, obj.Key); err != nil {
					return fmt.Errorf("commit: remove stale %s: %w", obj.Key, err)
				}
			}
		}
	}
	return nil
}
