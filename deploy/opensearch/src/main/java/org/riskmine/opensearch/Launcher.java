package org.riskmine.opensearch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Starts a single-node OpenSearch in this JVM, bound to 127.0.0.1, security off, with the
 * netty4 HTTP/transport layer and the common analysis components (the cjk analyzer) loaded
 * from the classpath. Runs until the JVM is told to stop (SIGTERM), then closes the node.
 *
 * <pre>java -cp ... org.riskmine.opensearch.Launcher HOME HTTP_PORT [CLUSTER_NAME]</pre>
 *
 * HOME holds data/ and logs/ (created when missing). The system property riskmine.refresh_interval sets
 * the default refresh interval of new indices (100ms).
 */
public final class Launcher {

    /** A node whose plugins come from the classpath instead of a plugins/ folder. */
    static final class ClasspathNode extends Node {
        ClasspathNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }

        @Override
        protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {
            // the node/cluster id log converter needs OpenSearch's own log set-up; not used here
        }
    }

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Launcher HOME HTTP_PORT [CLUSTER_NAME]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        String port = args[1];
        String clusterName = args.length > 2 ? args[2] : "riskmine";
        for (String dir : List.of("data", "logs", "config", "plugins", "modules")) {
            Files.createDirectories(home.resolve(dir));
        }
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", clusterName)
            .put("node.name", clusterName + "-1")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", port)
            .put("transport.port", "0")
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("action.destructive_requires_name", "false")
            // a test machine's disk may be fuller than the production watermarks allow
            .put("cluster.routing.allocation.disk.threshold_enabled", "false")
            // new indices refresh every 100 ms unless they say otherwise (OpenSearch's default is 1 s): writes with
            // refresh=wait_for return sooner, which roughly halves the store contract suite's time
            .put("cluster.default.index.refresh_interval", System.getProperty("riskmine.refresh_interval", "100ms"))
            .build();
        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), home.resolve("config"), () -> clusterName + "-1");
        Node node = new ClasspathNode(env, List.of(Netty4Plugin.class, CommonAnalysisPlugin.class));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "riskmine-opensearch-shutdown"));
        node.start();
        System.out.println("riskmine-opensearch: node started on http://127.0.0.1:" + port + " (home " + home + ")");
        stopped.await();
    }
}
