//! Reads a CloudWatch Metrics Insights query far enough to know what it asks for: the aggregate,
//! the metric, the namespace (or schema), and the dimensions it filters and groups by.

/// What a query names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// `MAX`, `SUM`, … (upper case).
    pub function: String,
    /// The metric after the function.
    pub metric: String,
    /// `FROM "namespace"` or the namespace of `FROM SCHEMA("namespace", …)`.
    pub namespace: String,
    /// The dimensions of `SCHEMA(…)`, when the query names a schema.
    pub schema: Option<Vec<String>>,
    /// Dimensions compared in `WHERE`.
    pub filters: Vec<String>,
    /// Dimensions of `GROUP BY`: each group is one series (an alarm contributor).
    pub group_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    /// A `"double-quoted"` name.
    Quoted(String),
    /// A `'single-quoted'` value.
    Literal(String),
    Punct(String),
}

fn tokens(sql: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '\'' {
            chars.next();
            let s: String = chars.by_ref().take_while(|&x| x != c).collect();
            out.push(if c == '"' {
                Token::Quoted(s)
            } else {
                Token::Literal(s)
            });
        } else if c.is_alphanumeric() || c == '_' {
            let mut s = String::new();
            while let Some(&x) = chars.peek().filter(|x| x.is_alphanumeric() || **x == '_') {
                s.push(x);
                chars.next();
            }
            out.push(Token::Word(s));
        } else if c == '!' || c == '<' || c == '>' {
            chars.next();
            let op = if chars.peek() == Some(&'=') {
                chars.next();
                format!("{c}=")
            } else {
                c.to_string()
            };
            out.push(Token::Punct(op));
        } else if "(),=*".contains(c) {
            chars.next();
            out.push(Token::Punct(c.to_string()));
        } else {
            return Err(format!("unexpected character '{c}'"));
        }
    }
    Ok(out)
}

struct Cursor {
    tokens: Vec<Token>,
    at: usize,
}

impl Cursor {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&mut self, word: &str) -> bool {
        let hit = matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word));
        self.at += usize::from(hit);
        hit
    }

    fn expect(&mut self, what: &str) -> Result<(), String> {
        let ok = match self.tokens.get(self.at) {
            Some(Token::Word(w)) => w.eq_ignore_ascii_case(what),
            Some(Token::Punct(p)) => p == what,
            _ => false,
        };
        self.at += 1;
        ok.then_some(())
            .ok_or_else(|| format!("expected {what} at token {}", self.at))
    }

    /// A name: a bare word or a double-quoted one.
    fn name(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Word(w) | Token::Quoted(w)) => Ok(w),
            other => Err(format!("expected a name, found {other:?}")),
        }
    }

    fn names(&mut self) -> Result<Vec<String>, String> {
        let mut names = vec![self.name()?];
        while self.tokens.get(self.at) == Some(&Token::Punct(",".into())) {
            self.at += 1;
            names.push(self.name()?);
        }
        Ok(names)
    }
}

/// Parses `SELECT FUNC(metric) FROM ns [WHERE …] [GROUP BY …] [ORDER BY FUNC() ASC|DESC] [LIMIT n]`.
pub fn parse(sql: &str) -> Result<Query, String> {
    let mut c = Cursor {
        tokens: tokens(sql)?,
        at: 0,
    };
    c.expect("SELECT")?;
    let function = c.name()?.to_ascii_uppercase();
    c.expect("(")?;
    let metric = c.name()?;
    c.expect(")")?;
    c.expect("FROM")?;
    let (namespace, schema) = if c.keyword("SCHEMA") {
        c.expect("(")?;
        let mut names = c.names()?;
        c.expect(")")?;
        let namespace = names.remove(0);
        (namespace, Some(names))
    } else {
        (c.name()?, None)
    };
    let mut query = Query {
        function,
        metric,
        namespace,
        schema,
        filters: Vec::new(),
        group_by: Vec::new(),
    };
    if c.keyword("WHERE") {
        loop {
            query.filters.push(c.name()?);
            match (c.next(), c.next()) {
                (Some(Token::Punct(_)), Some(Token::Literal(_))) => {}
                other => {
                    return Err(format!(
                        "expected a comparison with a 'value', found {other:?}"
                    ))
                }
            }
            if !c.keyword("AND") {
                break;
            }
        }
    }
    if c.keyword("GROUP") {
        c.expect("BY")?;
        query.group_by = c.names()?;
    }
    if c.keyword("ORDER") {
        c.expect("BY")?;
        c.name()?;
        c.expect("(")?;
        c.expect(")")?;
        let _ = c.keyword("ASC") || c.keyword("DESC");
    }
    if c.keyword("LIMIT") {
        c.name()?;
    }
    match c.next() {
        None => Ok(query),
        Some(extra) => Err(format!("unexpected {extra:?} after the query")),
    }
}

#[test]
fn parses_filters_groups_order_and_limit() {
    let q = parse(
        "SELECT MAX(ComponentStatus) FROM \"Ops/Canary\" WHERE Canary = 'prod' GROUP BY Target, Component ORDER BY MAX() DESC LIMIT 10",
    )
    .expect("valid");
    assert_eq!(
        q,
        Query {
            function: "MAX".into(),
            metric: "ComponentStatus".into(),
            namespace: "Ops/Canary".into(),
            schema: None,
            filters: vec!["Canary".into()],
            group_by: vec!["Target".into(), "Component".into()],
        }
    );
    let q =
        parse("select sum(CanaryHeartbeat) from SCHEMA(\"HealthCanary\", Canary)").expect("valid");
    assert_eq!(q.schema, Some(vec!["Canary".to_string()]));
    assert_eq!(q.function, "SUM");
}

#[test]
fn rejects_what_it_cannot_read() {
    for (sql, want) in [
        (
            "MAX(ComponentStatus) FROM \"HealthCanary\"",
            "expected SELECT",
        ),
        (
            "SELECT MAX(ComponentStatus) \"HealthCanary\"",
            "expected FROM",
        ),
        (
            "SELECT MAX(ComponentStatus) FROM \"HealthCanary\" WHERE Canary",
            "comparison",
        ),
        (
            "SELECT MAX(ComponentStatus) FROM \"HealthCanary\" GROUP Target",
            "expected BY",
        ),
        (
            "SELECT MAX(ComponentStatus) FROM \"HealthCanary\" LIMIT 5 extra",
            "after the query",
        ),
        (
            "SELECT MAX(ComponentStatus) FROM \"HealthCanary\" WHERE a = 'b' ; DROP",
            "unexpected character",
        ),
    ] {
        let got = parse(sql).expect_err(sql);
        assert!(got.contains(want), "{sql}: expected '{want}', got '{got}'");
    }
}
