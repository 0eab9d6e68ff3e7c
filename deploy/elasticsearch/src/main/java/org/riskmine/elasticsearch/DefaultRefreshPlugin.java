package org.riskmine.elasticsearch;

import java.time.Instant;
import java.util.Collection;
import java.util.List;

import org.elasticsearch.cluster.metadata.Metadata;
import org.elasticsearch.common.compress.CompressedXContent;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.IndexMode;
import org.elasticsearch.index.IndexSettingProvider;
import org.elasticsearch.plugins.Plugin;

/**
 * The default refresh interval of new indices that set none themselves (their template or create request):
 * the system property riskmine.refresh_interval, 100ms unless told (Elasticsearch's own is 1s and has no
 * node setting). Writes with refresh=wait_for return sooner, which roughly halves the store contract suite.
 */
public final class DefaultRefreshPlugin extends Plugin {

    static final String KEY = "index.refresh_interval";

    @Override
    public Collection<IndexSettingProvider> getAdditionalIndexSettingProviders(IndexSettingProvider.Parameters parameters) {
        String interval = System.getProperty("riskmine.refresh_interval", "100ms");
        return List.of(new IndexSettingProvider() {
            @Override
            public Settings getAdditionalIndexSettings(String indexName, String dataStreamName, IndexMode templateIndexMode,
                    Metadata metadata, Instant resolvedAt, Settings templateAndRequestSettings,
                    List<CompressedXContent> combinedTemplateMappings) {
                if (templateAndRequestSettings.hasValue(KEY)) {
                    return Settings.EMPTY;
                }
                return Settings.builder().put(KEY, interval).build();
            }
        });
    }
}
