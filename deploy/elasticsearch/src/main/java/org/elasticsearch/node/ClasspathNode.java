package org.elasticsearch.node;

import java.util.Collection;

import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.MockPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;

/**
 * A node whose plugins are classes on the classpath instead of bundles in modules/ and plugins/ folders
 * (Elasticsearch 8 has no public constructor for that). It lives in Elasticsearch's own package because
 * {@link NodeConstruction} and {@link NodeServiceProvider} are package-private; it does what the test
 * framework's MockNode does, without MockNode's test bootstrap (which refuses to run as root and installs
 * the test framework's randomised settings). Every other service is the production one.
 */
public final class ClasspathNode extends Node {

    public ClasspathNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
        super(NodeConstruction.prepareConstruction(env, null, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment environment, PluginsLoader pluginsLoader) {
                return new MockPluginsService(environment.settings(), environment, plugins);
            }
        }, true));
    }

    @Override
    protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {
        // the node/cluster id log converter needs Elasticsearch's own log set-up; not used here
    }
}
