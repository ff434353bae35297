/*
 * Amazon DynamoDB Local, bound to 127.0.0.1 only, answering only to its own host name.
 *
 * DynamoDB Local has no bind option: its Jetty server listens on every interface, with no authentication. This
 * launcher builds the server exactly as DynamoDB Local's own main class does (same command-line options), then,
 * before it starts, binds its one connector to the loopback address and puts a Host check in front of its
 * handler (a web page that rebinds a domain name to 127.0.0.1 gets 403, not the tables). It exits if the server
 * is not listening, or not on loopback only, after start.
 *
 * podium_cli.local.dynamodb compiles it (javac, JDK 17+) next to the jar it was built against and runs it.
 */

import java.lang.reflect.Field;
import java.net.InetAddress;
import java.util.Set;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDBLocal {
    static final String HOST = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        Connector[] connectors = server.getConnectors();
        if (connectors.length != 1 || !(connectors[0] instanceof ServerConnector)) {
            fail("expected one ServerConnector, found " + connectors.length + " connector(s)");
        }
        ServerConnector connector = (ServerConnector) connectors[0];
        connector.setHost(HOST);
        int port = connector.getPort();
        server.setHandler(new HostCheck(server.getHandler(), Set.of(HOST + ":" + port, "localhost:" + port)));
        proxy.start();
        if (!server.isStarted() || connector.getLocalPort() <= 0) {
            fail("could not listen on " + HOST + ":" + port);
        }
        if (!InetAddress.getByName(connector.getHost()).isLoopbackAddress()) {
            fail("listening on " + connector.getHost() + ", not on loopback");
        }
        System.out.println("DynamoDB Local listening on " + HOST + ":" + connector.getLocalPort());
        System.out.flush();
        proxy.join();
    }

    static void fail(String message) {
        System.err.println("LoopbackDynamoDBLocal: " + message);
        System.exit(3);
    }

    static final class HostCheck extends Handler.Wrapper {
        private final Set<String> hosts;

        HostCheck(Handler inner, Set<String> hosts) {
            super(inner);
            this.hosts = hosts;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            String host = request.getHeaders().get(HttpHeader.HOST);
            if (host != null && !hosts.contains(host.toLowerCase())) {
                Response.writeError(request, response, callback, 403, "DynamoDB Local answers only as " + hosts);
                return true;
            }
            return super.handle(request, response, callback);
        }
    }
}
