//! The throwaway server really runs, really answers, and really goes away.

use chatledger_tempdb::ThrowawayPostgres;
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};

#[test]
fn starts_answers_and_is_gone_after_drop() {
    let server = ThrowawayPostgres::start().expect("the throwaway server starts");
    let url = server.url("postgres");

    let mut connection = PgConnection::establish(&url).expect("it accepts connections");
    sql_query("CREATE TABLE proof (id int)")
        .execute(&mut connection)
        .expect("it runs SQL");
    drop(connection);

    let port = server.port();
    drop(server);

    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on port {port} once the server is dropped"
    );
}

#[test]
fn two_servers_run_side_by_side() {
    let first = ThrowawayPostgres::start().expect("the first server starts");
    let second = ThrowawayPostgres::start().expect("the second server starts");

    assert_ne!(first.port(), second.port());
    for server in [&first, &second] {
        PgConnection::establish(&server.url("postgres")).expect("each accepts connections");
    }
}

#[test]
fn a_stopped_server_refuses_connections_and_resumes_with_its_data() {
    let server = ThrowawayPostgres::start().expect("the throwaway server starts");
    let url = server.url("postgres");
    let mut connection = PgConnection::establish(&url).unwrap();
    sql_query("CREATE TABLE kept (id int)")
        .execute(&mut connection)
        .unwrap();
    drop(connection);

    server.stop().expect("the server stops");
    assert!(
        PgConnection::establish(&url).is_err(),
        "a stopped server accepts no connection"
    );

    server.resume().expect("the server starts again");
    let mut connection = PgConnection::establish(&url).expect("it accepts connections again");
    sql_query("SELECT * FROM kept")
        .execute(&mut connection)
        .expect("its data survived");
}
