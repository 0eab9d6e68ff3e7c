package org.riskmine.elasticsearch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.ClasspathNode;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;

/**
 * Starts a single-node Elasticsearch 8 in this JVM, bound to 127.0.0.1, security off, with the netty4
 * HTTP/transport layer and what the distribution's modules would add that riskmine needs ({@link CjkAnalysisPlugin},
 * {@link RootInfoPlugin}), loaded from the classpath. Runs until the JVM is told to stop (SIGTERM), then closes
 * the node.
 *
 * <pre>java -cp ... org.riskmine.elasticsearch.Launcher HOME HTTP_PORT [CLUSTER_NAME]</pre>
 *
 * HOME holds data/ and logs/ (created when missing). The system property riskmine.refresh_interval sets the
 * default refresh interval of new indices (100ms; {@link DefaultRefreshPlugin}).
 */
public final class Launcher {

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Launcher HOME HTTP_PORT [CLUSTER_NAME]");
            System.exit(2);
        }
        // Elasticsearch's logging facade (org.elasticsearch.logging) over log4j, as its bootstrap sets it up;
        // log4j itself reads log4j2.properties from the classpath
        LogConfigurator.configureESLogging();
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
            .put("cluster.routing.allocation.disk.threshold_enabled", "false")
            .build();
        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), home.resolve("config"), () -> clusterName + "-1");
        Node node = new ClasspathNode(env, List.of(
            Netty4Plugin.class, CjkAnalysisPlugin.class, RootInfoPlugin.class, DefaultRefreshPlugin.class));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "riskmine-elasticsearch-shutdown"));
        node.start();
        System.out.println("riskmine-elasticsearch: node started on http://127.0.0.1:" + port + " (home " + home + ")");
        stopped.await();
    }
}
