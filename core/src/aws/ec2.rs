//! The EC2 Query API calls the core needs: subnets and security groups looked
//! up by a tag, and the private IPs of instances (EC2 launch type).
//!
//! Requests are `POST /` with a form-encoded body, `Action=...&Version=
//! 2016-11-15&...` (EC2 API reference, "Making requests using the Query
//! API"); answers are XML (see [`xml`]). The callers sign the request with
//! service name `ec2` and send it with [`CONTENT_TYPE`].

use crate::encoding::form_encode;

/// The `Content-Type` of every EC2 Query request (what the AWS CLI and SDKs
/// send; it is signed, so the shell must send it exactly).
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// The EC2 API version the request and answer shapes below are from.
pub const API_VERSION: &str = "2016-11-15";

/// One page of ids and the token for the next, if there is one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub ids: Vec<String>,
    /// `nextToken`: ask again with it for the rest.
    pub next_token: Option<String>,
}

/// Instances and their own primary private IPv4 address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceIps {
    /// `(instance id, private IP)`, in document order. Instances without a
    /// private address (e.g. terminated ones) are left out.
    pub private_ips: Vec<(String, String)>,
    pub next_token: Option<String>,
}

/// Why an EC2 answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the EC2 answer is not well-formed XML: {0}")]
    Xml(#[from] xml::XmlError),
    /// A well-formed document of the wrong kind, e.g. an error document or an
    /// answer from another service (moto answers unsigned requests from S3).
    #[error("expected an EC2 <{expected}> document, got <{found}>")]
    UnexpectedRoot { expected: String, found: String },
}

/// `DescribeSubnets` filtered on one tag (`Filter.1.Name=tag:KEY`,
/// `Filter.1.Value.1=VALUE`), continuing at `next_token` if given.
pub fn describe_subnets_by_tag(key: &str, value: &str, next_token: Option<&str>) -> String {
    by_tag("DescribeSubnets", key, value, next_token)
}

/// `DescribeSecurityGroups` filtered on one tag, continuing at `next_token`.
pub fn describe_security_groups_by_tag(key: &str, value: &str, next_token: Option<&str>) -> String {
    by_tag("DescribeSecurityGroups", key, value, next_token)
}

/// `DescribeInstances` of the given ids (`InstanceId.1`, `InstanceId.2`...).
///
/// Takes no `NextToken`: with instance ids EC2 answers them all at once (the
/// API reference: `MaxResults` "cannot be specified with instance IDs", and
/// without it there is no paging). A `nextToken` in the answer is still
/// reported by [`parse_instance_private_ips`].
pub fn describe_instances(instance_ids: &[String]) -> String {
    let mut params = vec![
        ("Action".to_string(), "DescribeInstances".to_string()),
        ("Version".to_string(), API_VERSION.to_string()),
    ];
    for (i, id) in instance_ids.iter().enumerate() {
        params.push((format!("InstanceId.{}", i + 1), id.clone()));
    }
    form(&params)
}

fn by_tag(action: &str, key: &str, value: &str, next_token: Option<&str>) -> String {
    let mut params = vec![
        ("Action".to_string(), action.to_string()),
        ("Version".to_string(), API_VERSION.to_string()),
        ("Filter.1.Name".to_string(), format!("tag:{key}")),
        ("Filter.1.Value.1".to_string(), value.to_string()),
    ];
    if let Some(token) = next_token {
        params.push(("NextToken".to_string(), token.to_string()));
    }
    form(&params)
}

/// `name=value&...`, each encoded by [`form_encode`].
fn form(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The subnet ids of a `DescribeSubnetsResponse`
/// (`subnetSet/item/subnetId`).
pub fn parse_subnet_ids(body: &str) -> Result<Page, ParseError> {
    let root = root_named(body, "DescribeSubnetsResponse")?;
    Ok(Page {
        ids: ids_of_items(&root, "subnetSet", "subnetId"),
        next_token: next_token(&root),
    })
}

/// The group ids of a `DescribeSecurityGroupsResponse`: only each
/// `securityGroupInfo/item`'s own `groupId`, not the `groupId`s of the groups
/// its rules refer to (`ipPermissions/item/groups/item/groupId`).
pub fn parse_security_group_ids(body: &str) -> Result<Page, ParseError> {
    let root = root_named(body, "DescribeSecurityGroupsResponse")?;
    Ok(Page {
        ids: ids_of_items(&root, "securityGroupInfo", "groupId"),
        next_token: next_token(&root),
    })
}

/// Each instance's id and own `privateIpAddress` from a
/// `DescribeInstancesResponse` (`reservationSet/item/instancesSet/item`), not
/// the addresses of its network interfaces
/// (`networkInterfaceSet/item/privateIpAddress`, `.../privateIpAddressesSet`).
pub fn parse_instance_private_ips(body: &str) -> Result<InstanceIps, ParseError> {
    let root = root_named(body, "DescribeInstancesResponse")?;
    let mut private_ips = Vec::new();
    for reservation in items(&root, "reservationSet") {
        for instance in items(reservation, "instancesSet") {
            let id = instance.child_text("instanceId");
            let ip = instance.child_text("privateIpAddress");
            if let (Some(id), Some(ip)) = (id, ip) {
                private_ips.push((id.to_string(), ip.to_string()));
            }
        }
    }
    Ok(InstanceIps {
        private_ips,
        next_token: next_token(&root),
    })
}

fn root_named(body: &str, expected: &str) -> Result<xml::Element, ParseError> {
    let root = xml::parse(body)?;
    if root.name != expected {
        return Err(ParseError::UnexpectedRoot {
            expected: expected.to_string(),
            found: root.name,
        });
    }
    Ok(root)
}

/// The `item` children of `parent`'s child `set` (none if it is absent:
/// EC2 sends an empty `<subnetSet/>` when nothing matches).
fn items<'a>(parent: &'a xml::Element, set: &str) -> impl Iterator<Item = &'a xml::Element> {
    parent
        .child(set)
        .into_iter()
        .flat_map(|s| s.children_named("item"))
}

fn ids_of_items(root: &xml::Element, set: &str, id: &str) -> Vec<String> {
    items(root, set)
        .filter_map(|item| item.child_text(id))
        .map(String::from)
        .collect()
}

fn next_token(root: &xml::Element) -> Option<String> {
    root.child_text("nextToken").map(String::from)
}

/// A small XML reader for AWS answers: elements, attributes (read past,
/// unused), text, CDATA, comments, the `<?xml ...?>` prolog, a DOCTYPE (read
/// past), the five predefined entities and numeric character references.
/// Names keep no namespace prefix (`ec2:item` is `item`); AWS answers use a
/// default `xmlns` only. No DTD entity expansion, so no entity bombs.
pub mod xml {
    /// One element: its local name, its child elements in order, and its text
    /// (the character data directly inside it, entities resolved).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct Element {
        pub name: String,
        pub children: Vec<Element>,
        pub text: String,
    }

    impl Element {
        /// The first child element called `name`.
        pub fn child(&self, name: &str) -> Option<&Element> {
            self.children.iter().find(|c| c.name == name)
        }

        /// Every child element called `name`.
        pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
            self.children.iter().filter(move |c| c.name == name)
        }

        /// The trimmed text of the first child called `name`, if that child
        /// exists and its text is not blank.
        pub fn child_text(&self, name: &str) -> Option<&str> {
            self.child(name)
                .map(|c| c.text.trim())
                .filter(|t| !t.is_empty())
        }

        /// The element at `path` below this one, following first matches.
        pub fn find(&self, path: &[&str]) -> Option<&Element> {
            path.iter().try_fold(self, |e, name| e.child(name))
        }
    }

    /// How deep elements may nest. AWS answers nest about ten deep
    /// (DescribeInstances: reservationSet/item/instancesSet/item/
    /// networkInterfaceSet/item/privateIpAddressesSet/item/association/...).
    pub const MAX_DEPTH: usize = 256;

    /// Where and why a document is not well-formed.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[error("{reason} at byte {offset}")]
    pub struct XmlError {
        pub offset: usize,
        pub reason: String,
    }

    /// Reads a whole document and returns its root element. Anything but
    /// whitespace, comments and processing instructions around the root is an
    /// error, as are mismatched tags and unknown entities.
    pub fn parse(doc: &str) -> Result<Element, XmlError> {
        Reader { doc, pos: 0 }.document()
    }

    struct Reader<'a> {
        doc: &'a str,
        pos: usize,
    }

    impl Reader<'_> {
        fn err<T>(&self, reason: impl Into<String>) -> Result<T, XmlError> {
            Err(XmlError {
                offset: self.pos,
                reason: reason.into(),
            })
        }

        fn rest(&self) -> &str {
            &self.doc[self.pos..]
        }

        fn starts_with(&self, s: &str) -> bool {
            self.rest().starts_with(s)
        }

        fn skip_whitespace(&mut self) {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start().len();
        }

        /// Moves past the next `end`, or fails with `what` unterminated.
        fn skip_past(&mut self, end: &str, what: &str) -> Result<&str, XmlError> {
            match self.rest().find(end) {
                Some(i) => {
                    let start = self.pos;
                    self.pos += i + end.len();
                    Ok(&self.doc[start..start + i])
                }
                None => self.err(format!("unterminated {what}")),
            }
        }

        /// Skips a comment, processing instruction or DOCTYPE if one starts
        /// here; says whether it did.
        fn skip_misc(&mut self) -> Result<bool, XmlError> {
            if self.starts_with("<!--") {
                self.pos += 4;
                self.skip_past("-->", "comment")?;
            } else if self.starts_with("<?") {
                self.pos += 2;
                self.skip_past("?>", "processing instruction")?;
            } else if self.starts_with("<!DOCTYPE") {
                // Read past it, internal subset included; its declarations
                // are not applied.
                let mut depth = 0usize;
                for (i, c) in self.rest().char_indices() {
                    match c {
                        '[' => depth += 1,
                        ']' => depth = depth.saturating_sub(1),
                        '>' if depth == 0 => {
                            self.pos += i + 1;
                            return Ok(true);
                        }
                        _ => {}
                    }
                }
                return self.err("unterminated DOCTYPE");
            } else {
                return Ok(false);
            }
            Ok(true)
        }

        fn document(mut self) -> Result<Element, XmlError> {
            // A UTF-8 byte order mark may precede the prolog.
            if self.starts_with("\u{feff}") {
                self.pos += "\u{feff}".len();
            }
            loop {
                self.skip_whitespace();
                if !self.skip_misc()? {
                    break;
                }
            }
            if !self.starts_with("<") || self.doc.len() == self.pos {
                return self.err("expected the root element");
            }
            let root = self.element()?;
            loop {
                self.skip_whitespace();
                if self.pos == self.doc.len() {
                    return Ok(root);
                }
                if !self.skip_misc()? {
                    return self.err("content after the root element");
                }
            }
        }

        /// Reads one element, starting at its `<`. Iterative, and refuses
        /// nesting deeper than [`MAX_DEPTH`], so no document can overflow the
        /// stack (dropping, cloning or comparing an [`Element`] recurses).
        fn element(&mut self) -> Result<Element, XmlError> {
            // Open elements, each with its full (prefixed) name for matching
            // the end tag.
            let mut stack: Vec<(String, Element)> = Vec::new();
            loop {
                if self.starts_with("</") {
                    self.pos += 2;
                    let name = self.name()?;
                    self.skip_whitespace();
                    if !self.starts_with(">") {
                        return self.err("expected '>' to end the end tag");
                    }
                    self.pos += 1;
                    let Some((open, done)) = stack.pop() else {
                        return self.err(format!("</{name}> closes no open element"));
                    };
                    if open != name {
                        self.pos -= name.len() + 3;
                        return self.err(format!("</{name}> does not close <{open}>"));
                    }
                    match stack.last_mut() {
                        Some((_, parent)) => parent.children.push(done),
                        None => return Ok(done),
                    }
                } else if self.starts_with("<!--") || self.starts_with("<?") {
                    self.skip_misc()?;
                } else if self.starts_with("<![CDATA[") {
                    self.pos += 9;
                    let text = self.skip_past("]]>", "CDATA section")?.to_string();
                    match Self::open(&mut stack) {
                        Some(e) => e.text.push_str(&text),
                        None => return self.err("a CDATA section outside the root element"),
                    }
                } else if self.starts_with("<!") {
                    return self.err("unexpected markup declaration inside an element");
                } else if self.starts_with("<") {
                    self.pos += 1;
                    let full = self.name()?;
                    let empty = self.attributes()?;
                    let element = Element {
                        name: local(&full).to_string(),
                        ..Element::default()
                    };
                    if empty {
                        match stack.last_mut() {
                            Some((_, parent)) => parent.children.push(element),
                            None => return Ok(element),
                        }
                    } else if stack.len() == MAX_DEPTH {
                        return self.err(format!("elements nested deeper than {MAX_DEPTH}"));
                    } else {
                        stack.push((full, element));
                    }
                } else if self.pos == self.doc.len() {
                    let open = stack.last().map(|(n, _)| n.as_str()).unwrap_or("");
                    return self.err(format!("<{open}> is not closed"));
                } else {
                    let end = self
                        .rest()
                        .find('<')
                        .map_or(self.doc.len(), |i| self.pos + i);
                    let text = Self::unescape(&self.doc[self.pos..end], self.pos)?;
                    self.pos = end;
                    match Self::open(&mut stack) {
                        Some(e) => e.text.push_str(&text),
                        None => return self.err("text outside the root element"),
                    }
                }
            }
        }

        /// The innermost open element (text only occurs inside one: the
        /// caller starts at a `<` and returns when the root closes).
        fn open(stack: &mut [(String, Element)]) -> Option<&mut Element> {
            stack.last_mut().map(|(_, e)| e)
        }

        fn name(&mut self) -> Result<String, XmlError> {
            let rest = self.rest();
            let len = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '>' | '/' | '=' | '<'))
                .unwrap_or(rest.len());
            if len == 0 {
                return self.err("expected a name");
            }
            let name = rest[..len].to_string();
            self.pos += len;
            Ok(name)
        }

        /// Reads past the attributes up to and including `>` or `/>`; says
        /// whether the tag was self-closing. Values are checked (quoted,
        /// entities valid) but not kept.
        fn attributes(&mut self) -> Result<bool, XmlError> {
            loop {
                self.skip_whitespace();
                if self.starts_with("/>") {
                    self.pos += 2;
                    return Ok(true);
                }
                if self.starts_with(">") {
                    self.pos += 1;
                    return Ok(false);
                }
                if self.pos == self.doc.len() {
                    return self.err("unterminated tag");
                }
                self.name()?;
                self.skip_whitespace();
                if !self.starts_with("=") {
                    return self.err("expected '=' after an attribute name");
                }
                self.pos += 1;
                self.skip_whitespace();
                let quote = match self.rest().chars().next() {
                    Some(q @ ('"' | '\'')) => q,
                    _ => return self.err("expected a quoted attribute value"),
                };
                self.pos += 1;
                let start = self.pos;
                let value = self.skip_past(&quote.to_string(), "attribute value")?;
                if let Some(i) = value.find('<') {
                    return Err(XmlError {
                        offset: start + i,
                        reason: "'<' in an attribute value".into(),
                    });
                }
                Self::unescape(value, start)?;
            }
        }

        /// Resolves entity and character references in `raw`, which starts
        /// at byte `offset` of the document (for error offsets).
        fn unescape(raw: &str, offset: usize) -> Result<String, XmlError> {
            let mut out = String::with_capacity(raw.len());
            let mut rest = raw;
            while let Some(amp) = rest.find('&') {
                out.push_str(&rest[..amp]);
                let at = offset + (raw.len() - rest.len()) + amp;
                let fail = |reason: String| Err(XmlError { offset: at, reason });
                let after = &rest[amp + 1..];
                let Some(semi) = after.find(';').filter(|&i| i <= 12) else {
                    return fail("'&' that does not start a reference".into());
                };
                let entity = &after[..semi];
                let c = match entity {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => {
                        let code = if let Some(hex) = entity.strip_prefix("#x") {
                            u32::from_str_radix(hex, 16).ok()
                        } else if let Some(dec) = entity.strip_prefix('#') {
                            dec.parse::<u32>().ok()
                        } else {
                            return fail(format!("unknown entity &{entity};"));
                        };
                        match code.and_then(char::from_u32) {
                            // XML 1.0 "Char": no NUL (and no surrogates, which
                            // from_u32 already refuses).
                            Some(c) if c != '\0' => c,
                            _ => return fail(format!("invalid character reference &{entity};")),
                        }
                    }
                };
                out.push(c);
                rest = &after[semi + 1..];
            }
            out.push_str(rest);
            Ok(out)
        }
    }

    /// `ec2:item` -> `item`.
    fn local(name: &str) -> &str {
        name.rsplit(':').next().unwrap_or(name)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn elements_text_and_nesting() {
            let doc = parse("<a><b>one</b><c><b>two</b></c><b>three</b></a>").unwrap();
            assert_eq!(doc.name, "a");
            let bs: Vec<&str> = doc.children_named("b").map(|b| b.text.as_str()).collect();
            assert_eq!(bs, ["one", "three"]);
            assert_eq!(doc.find(&["c", "b"]).unwrap().text, "two");
        }

        #[test]
        fn prolog_comments_attributes_self_closing() {
            let doc = parse(
                "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- hi -->\n\
                 <R xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\" a='x>y' b = \"1\">\
                 <set/><set />\
                 <?pi inside?><!-- <fake>not an element</fake> -->\
                 <v>1</v></R>\n<!-- trailing -->\n",
            )
            .unwrap();
            assert_eq!(doc.name, "R");
            let names: Vec<&str> = doc.children.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["set", "set", "v"]);
            assert!(doc.children[0].children.is_empty());
            assert_eq!(doc.child_text("v"), Some("1"));
        }

        #[test]
        fn entities_and_character_references() {
            let doc = parse(
                "<m>&lt;tag&gt; &amp;amp; &quot;q&quot; &apos;a&apos; &#65;&#x42;&#x1F600;</m>",
            )
            .unwrap();
            assert_eq!(doc.text, "<tag> &amp; \"q\" 'a' AB\u{1F600}");
        }

        #[test]
        fn cdata_is_literal() {
            let doc = parse("<m>a<![CDATA[<b>&amp;</b>]]>c</m>").unwrap();
            assert_eq!(doc.text, "a<b>&amp;</b>c");
            assert!(doc.children.is_empty());
        }

        #[test]
        fn prefixed_names_match_by_local_name() {
            let doc = parse("<x:a xmlns:x='u'><x:b>1</x:b></x:a>").unwrap();
            assert_eq!(doc.child_text("b"), Some("1"));
        }

        #[test]
        fn doctype_is_read_past_without_expanding() {
            let doc = parse("<!DOCTYPE a [<!ENTITY e \"boom\">]><a>x</a>").unwrap();
            assert_eq!(doc.text, "x");
            // Its entities are not defined for us.
            assert!(parse("<!DOCTYPE a [<!ENTITY e \"boom\">]><a>&e;</a>").is_err());
        }

        #[test]
        fn malformed_documents_are_errors() {
            let cases = [
                ("", "expected the root element"),
                ("   ", "expected the root element"),
                ("just text", "expected the root element"),
                ("<a><b></a>", "</a> does not close <b>"),
                ("<a>", "<a> is not closed"),
                ("<a></a><b/>", "content after the root element"),
                ("<a></a>tail", "content after the root element"),
                ("<a>&nbsp;</a>", "unknown entity &nbsp;"),
                ("<a>AT&T</a>", "'&' that does not start a reference"),
                ("<a>&#0;</a>", "invalid character reference &#0;"),
                ("<a>&#xD800;</a>", "invalid character reference &#xD800;"),
                ("<a b=c></a>", "expected a quoted attribute value"),
                ("<a b></a>", "expected '=' after an attribute name"),
                ("<a b='1", "unterminated attribute value"),
                ("<a><!-- x</a>", "unterminated comment"),
                ("<a><![CDATA[x</a>", "unterminated CDATA section"),
                ("<a", "unterminated tag"),
                ("<>", "expected a name"),
            ];
            for (doc, reason) in cases {
                let err = parse(doc).unwrap_err();
                assert_eq!(err.reason, reason, "{doc:?}");
            }
            // Offsets point at the problem.
            assert_eq!(parse("<a><b></a>").unwrap_err().offset, 6);
            assert_eq!(parse("<a>x &bogus;</a>").unwrap_err().offset, 5);
        }

        #[test]
        fn deep_nesting_is_refused_not_a_stack_overflow() {
            let nested = |depth| format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
            assert_eq!(parse(&nested(MAX_DEPTH)).unwrap().name, "a");
            let err = parse(&nested(100_000)).unwrap_err();
            assert_eq!(err.reason, "elements nested deeper than 256");
            assert_eq!(err.offset, 3 * MAX_DEPTH + 3);
        }

        #[test]
        fn multibyte_text_is_kept() {
            let doc = parse("<a>Grüße, 東京 &amp; ☃</a>").unwrap();
            assert_eq!(doc.text, "Grüße, 東京 & ☃");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_by_tag_request() {
        assert_eq!(
            describe_subnets_by_tag("Name", "ci-runners", None),
            "Action=DescribeSubnets&Version=2016-11-15\
             &Filter.1.Name=tag%3AName&Filter.1.Value.1=ci-runners"
        );
    }

    #[test]
    fn security_groups_by_tag_request_with_next_token() {
        assert_eq!(
            describe_security_groups_by_tag("team", "ci", Some("eyJ2IjoiMiJ9+/=")),
            "Action=DescribeSecurityGroups&Version=2016-11-15\
             &Filter.1.Name=tag%3Ateam&Filter.1.Value.1=ci\
             &NextToken=eyJ2IjoiMiJ9%2B%2F%3D"
        );
    }

    #[test]
    fn tag_keys_and_values_are_percent_encoded() {
        // Tag keys and values may hold spaces, `+ - = . _ : / @` and any
        // Unicode letter (EC2 user guide, "Tag restrictions"). A literal `+`
        // must be encoded (a form decoder reads `+` as a space), `&` and `=`
        // too (they would split the parameter).
        assert_eq!(
            describe_subnets_by_tag("aws:cloudformation:stack-name", "a b+c=d&e/f@g~h_i.j", None),
            "Action=DescribeSubnets&Version=2016-11-15\
             &Filter.1.Name=tag%3Aaws%3Acloudformation%3Astack-name\
             &Filter.1.Value.1=a+b%2Bc%3Dd%26e%2Ff%40g~h_i.j"
        );
        assert_eq!(form_encode("Straße ☃"), "Stra%C3%9Fe+%E2%98%83");
        assert_eq!(form_encode("%41"), "%2541");
        assert_eq!(form_encode("\n\t'\"*!"), "%0A%09%27%22%2A%21");
    }

    #[test]
    fn describe_instances_request() {
        let ids = vec!["i-0123456789abcdef0".to_string(), "i-1".to_string()];
        assert_eq!(
            describe_instances(&ids),
            "Action=DescribeInstances&Version=2016-11-15\
             &InstanceId.1=i-0123456789abcdef0&InstanceId.2=i-1"
        );
    }

    /// Shaped as the EC2 API reference's DescribeSubnets example, with an
    /// IPv6 association set whose items carry their own ids.
    const SUBNETS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
    <subnetSet>
        <item>
            <subnetId>subnet-9d4a7b6c</subnetId>
            <subnetArn>arn:aws:ec2:us-east-1:111122223333:subnet/subnet-9d4a7b6c</subnetArn>
            <state>available</state>
            <vpcId>vpc-1a2b3c4d</vpcId>
            <cidrBlock>10.0.1.0/24</cidrBlock>
            <ipv6CidrBlockAssociationSet>
                <item>
                    <associationId>subnet-cidr-assoc-38691b52</associationId>
                    <ipv6CidrBlock>2001:db8:1234:1a00::/64</ipv6CidrBlock>
                </item>
            </ipv6CidrBlockAssociationSet>
            <availableIpAddressCount>251</availableIpAddressCount>
            <availabilityZone>us-east-1a</availabilityZone>
            <defaultForAz>false</defaultForAz>
            <mapPublicIpOnLaunch>false</mapPublicIpOnLaunch>
            <tagSet>
                <item>
                    <key>Name</key>
                    <value>ci &amp; runners</value>
                </item>
            </tagSet>
        </item>
        <item>
            <subnetId>subnet-6e7f829e</subnetId>
            <state>available</state>
            <vpcId>vpc-1a2b3c4d</vpcId>
            <cidrBlock>10.0.2.0/24</cidrBlock>
            <ipv6CidrBlockAssociationSet/>
            <tagSet/>
        </item>
    </subnetSet>
</DescribeSubnetsResponse>"#;

    #[test]
    fn subnet_ids() {
        assert_eq!(
            parse_subnet_ids(SUBNETS).unwrap(),
            Page {
                ids: vec!["subnet-9d4a7b6c".into(), "subnet-6e7f829e".into()],
                next_token: None,
            }
        );
    }

    #[test]
    fn no_subnets_and_a_next_token() {
        // What EC2 (and moto) send when nothing matches: an empty set.
        let page = parse_subnet_ids(
            r#"<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
                <requestId>r</requestId><subnetSet/>
                <nextToken>AAEAAbc+/=</nextToken>
            </DescribeSubnetsResponse>"#,
        )
        .unwrap();
        assert_eq!(page.ids, Vec::<String>::new());
        assert_eq!(page.next_token.as_deref(), Some("AAEAAbc+/="));
    }

    /// Shaped as the EC2 API reference's DescribeSecurityGroups example. The
    /// first group's inbound rule refers to another group (a `groupId` nested
    /// in `ipPermissions/item/groups/item`) and comes before the group's own
    /// `groupId`, so a reader taking the first `groupId` it meets, or every
    /// one, gets it wrong; its outbound rule refers to a third group.
    const SECURITY_GROUPS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
   <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
   <securityGroupInfo>
      <item>
         <ownerId>123456789012</ownerId>
         <ipPermissions>
            <item>
               <ipProtocol>tcp</ipProtocol>
               <fromPort>22</fromPort>
               <toPort>22</toPort>
               <groups>
                  <item>
                     <userId>123456789012</userId>
                     <groupId>sg-bastion00000001</groupId>
                     <groupName>bastion</groupName>
                  </item>
               </groups>
               <ipRanges/>
               <ipv6Ranges/>
               <prefixListIds/>
            </item>
         </ipPermissions>
         <groupId>sg-1a2b3c4d</groupId>
         <groupName>ci-runners</groupName>
         <groupDescription>runners &lt;ci&gt;</groupDescription>
         <vpcId>vpc-1a2b3c4d</vpcId>
         <ipPermissionsEgress>
            <item>
               <ipProtocol>-1</ipProtocol>
               <groups>
                  <item>
                     <userId>123456789012</userId>
                     <groupId>sg-egress000000002</groupId>
                  </item>
               </groups>
               <ipRanges>
                  <item><cidrIp>0.0.0.0/0</cidrIp></item>
               </ipRanges>
            </item>
         </ipPermissionsEgress>
         <tagSet>
            <item><key>team</key><value>ci</value></item>
         </tagSet>
      </item>
      <item>
         <ownerId>123456789012</ownerId>
         <groupId>sg-2b3c4d5e</groupId>
         <groupName>default</groupName>
         <ipPermissions/>
         <ipPermissionsEgress/>
      </item>
   </securityGroupInfo>
</DescribeSecurityGroupsResponse>"#;

    #[test]
    fn security_group_ids_are_only_the_groups_own() {
        let page = parse_security_group_ids(SECURITY_GROUPS).unwrap();
        assert_eq!(page.ids, ["sg-1a2b3c4d", "sg-2b3c4d5e"]);
        assert_eq!(page.next_token, None);
    }

    /// Shaped as the EC2 API reference's DescribeInstances example. The first
    /// instance lists its network interfaces (with secondary addresses) before
    /// its own address; the second has interfaces but no own address (as when
    /// terminated) and must not borrow a nested one.
    const INSTANCES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
  <reservationSet>
    <item>
      <reservationId>r-1234567890abcdef0</reservationId>
      <ownerId>123456789012</ownerId>
      <groupSet/>
      <instancesSet>
        <item>
          <instanceId>i-1234567890abcdef0</instanceId>
          <imageId>ami-bff32ccc</imageId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <networkInterfaceSet>
            <item>
              <networkInterfaceId>eni-551ba033</networkInterfaceId>
              <privateIpAddress>192.168.1.99</privateIpAddress>
              <privateIpAddressesSet>
                <item>
                  <privateIpAddress>192.168.1.99</privateIpAddress>
                  <primary>false</primary>
                </item>
              </privateIpAddressesSet>
            </item>
          </networkInterfaceSet>
          <privateDnsName>ip-192-168-1-88.eu-west-1.compute.internal</privateDnsName>
          <privateIpAddress>192.168.1.88</privateIpAddress>
          <ipAddress>54.194.252.215</ipAddress>
          <groupSet>
            <item><groupId>sg-e4076980</groupId><groupName>SecurityGroup1</groupName></item>
          </groupSet>
        </item>
        <item>
          <instanceId>i-0598c7d356eba48d7</instanceId>
          <instanceState><code>48</code><name>terminated</name></instanceState>
          <networkInterfaceSet>
            <item><privateIpAddress>192.168.1.77</privateIpAddress></item>
          </networkInterfaceSet>
        </item>
      </instancesSet>
    </item>
    <item>
      <reservationId>r-2</reservationId>
      <instancesSet>
        <item>
          <instanceId>i-0abc</instanceId>
          <privateIpAddress>10.0.0.5</privateIpAddress>
        </item>
      </instancesSet>
    </item>
  </reservationSet>
</DescribeInstancesResponse>"#;

    #[test]
    fn instance_private_ips_are_the_instances_own() {
        let ips = parse_instance_private_ips(INSTANCES).unwrap();
        assert_eq!(
            ips.private_ips,
            [
                (
                    "i-1234567890abcdef0".to_string(),
                    "192.168.1.88".to_string()
                ),
                ("i-0abc".to_string(), "10.0.0.5".to_string()),
            ]
        );
        assert_eq!(ips.next_token, None);
    }

    #[test]
    fn wrong_documents_are_errors() {
        // An EC2 error document is not a result (the caller checks the
        // status first; this guards a 200 with an unexpected body).
        let err = parse_subnet_ids(
            "<Response><Errors><Error><Code>AuthFailure</Code></Error></Errors></Response>",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected an EC2 <DescribeSubnetsResponse> document, got <Response>"
        );
        // moto routes an unsigned request to its S3 backend.
        assert!(matches!(
            parse_security_group_ids("<ListAllMyBucketsResult></ListAllMyBucketsResult>"),
            Err(ParseError::UnexpectedRoot { .. })
        ));
        assert!(matches!(
            parse_instance_private_ips("<DescribeInstancesResponse>"),
            Err(ParseError::Xml(_))
        ));
        assert!(matches!(
            parse_subnet_ids("{\"subnets\": []}"),
            Err(ParseError::Xml(_))
        ));
    }
}
